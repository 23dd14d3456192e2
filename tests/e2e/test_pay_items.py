"""Payroll picks pay-item codes by name: the pay items come from the company's PowerOffice Go."""

import httpx


def test_pay_items_are_listed_with_name_kind_and_status(acme: httpx.Client) -> None:
    items = {item["code"]: item for item in acme.get("/pay-items").json()["pay_items"]}
    assert items["710"]["name"] == "Kilometergodtgjørelse bil" and items["710"]["fits"] == "km"
    assert items["720"]["fits"] == "outlay"
    assert items["730"]["active"] is False


def test_pay_items_need_an_active_integration(acme_payroll: httpx.Client) -> None:
    answer = acme_payroll.get("/pay-items")
    assert answer.status_code == 409 and answer.json()["code"] == "INTEGRATION_INACTIVE"
