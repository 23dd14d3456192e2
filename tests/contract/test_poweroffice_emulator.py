"""The PowerOffice Go emulator behaves as the reference documents it: paging, filters, 204s, auth, 429s, faults."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from local.emulators.poweroffice import PowerOfficeEmulator, parse_number_filter

from .conftest import (
    PO_ACME,
    PO_APPLICATION_KEY,
    PO_BETA,
    PO_DELTA_NO_PRIVILEGE,
    PO_GAMMA_NO_PAYROLL,
    PO_SUBSCRIPTION_KEY,
    OpenApiChecker,
    SpecLog,
)

Headers = Callable[..., dict[str, str]]


def _employee_numbers(response: httpx.Response) -> list[int]:
    return [e["Number"] for e in response.json()] if response.status_code == 200 else []


def _pay_item_id(http: httpx.Client, headers: dict[str, str], code: str) -> str:
    return http.get("/v2/PayItems", params={"codes": code}, headers=headers).json()[0]["Id"]


def _post_line(http: httpx.Client, headers: dict[str, str], reference: str, **fields: Any) -> httpx.Response:
    body = {
        "EmployeeId": 500001,
        "PayItemId": _pay_item_id(http, headers, "710"),
        "Quantity": 12.5,
        "Rate": 5.3,
        "Comment": "Kilometergodtgjørelse oktober 2026",
        "ExternalImportReference": reference,
        **fields,
    }
    return http.post("/v2/SalaryLines", json=body, headers=headers)


def test_answers_are_checked_against_the_reference_spec(
    po_spec: OpenApiChecker, po_http, po_token, po_spec_log: SpecLog
):
    headers = po_token()
    po_http.get("/v2/ClientIntegrationInformation", headers=headers)
    po_http.get("/v2/Employees", headers=headers)
    po_http.get("/v2/PayItems", headers=headers)
    created = _post_line(po_http, headers, "spec:1")
    line_id = created.json()["Id"]
    po_http.get(f"/v2/SalaryLines/{line_id}", headers=headers)
    po_http.get("/v2/SalaryLines", headers=headers)
    _post_line(po_http, headers, "spec:1")  # duplicate -> 400 ProblemDetails
    po_http.delete("/v2/SalaryLines/1", headers=headers)  # 404 ProblemDetails
    po_http.delete(f"/v2/SalaryLines/{line_id}", headers=headers)
    po_http.get("/v2/SalaryLines", headers=headers)  # 204
    po_http.post("/OAuth/Token", data={"grant_type": "client_credentials"}, auth=(PO_APPLICATION_KEY, "nope"),
                 headers={"Ocp-Apim-Subscription-Key": PO_SUBSCRIPTION_KEY})  # fmt: skip
    assert po_spec_log.checked == 14  # the token call, 11 above, and 2 pay-item look-ups in _post_line
    # The checker itself catches a wrong body, so a clean log means something.
    assert po_spec.validate("SalaryLineDto", {"Id": "not a number"})
    assert po_spec.validate("EmployeeDto", {"Number": None, "Gender": None}) == []


def test_token_requires_matching_application_and_client_key(po_http: httpx.Client):
    subscription = {"Ocp-Apim-Subscription-Key": PO_SUBSCRIPTION_KEY}
    form = {"grant_type": "client_credentials"}
    ok = po_http.post("/OAuth/Token", data=form, auth=(PO_APPLICATION_KEY, PO_ACME), headers=subscription)
    assert ok.status_code == 200
    # v2 tokens live 20 minutes (the developer portal; the demo environment answers 1200).
    assert ok.json()["token_type"] == "bearer" and ok.json()["expires_in"] == 1200
    for application_key, client_key in (("wrong-app", PO_ACME), (PO_APPLICATION_KEY, "production-key")):
        refused = po_http.post(
            "/OAuth/Token", data=form, auth=(application_key, client_key), headers=subscription
        )
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_client"
        assert "matching the desired environment" in refused.json()["error_description"]


def test_every_request_needs_the_subscription_key(po_http: httpx.Client, po_token: Headers):
    form = {"grant_type": "client_credentials"}
    assert po_http.post("/OAuth/Token", data=form, auth=(PO_APPLICATION_KEY, PO_ACME)).status_code == 401
    headers = po_token()
    wrong = {**headers, "Ocp-Apim-Subscription-Key": "someone-else"}
    response = po_http.get("/v2/Employees", headers=wrong)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_missing_unknown_and_expired_bearer_tokens_get_401(
    po_http, po_token: Headers, po_emulator: PowerOfficeEmulator
):
    subscription = {"Ocp-Apim-Subscription-Key": PO_SUBSCRIPTION_KEY}
    assert po_http.get("/v2/Employees", headers=subscription).status_code == 401
    assert (
        po_http.get("/v2/Employees", headers={**subscription, "Authorization": "Bearer made-up"}).status_code
        == 401
    )
    headers = po_token()
    assert po_http.get("/v2/ClientIntegrationInformation", headers=headers).status_code == 200
    po_http.post("/_control/expire-tokens", json={})
    assert po_http.get("/v2/ClientIntegrationInformation", headers=headers).status_code == 401


def test_client_integration_information_tells_what_is_missing(po_http: httpx.Client, po_token: Headers):
    acme = po_http.get("/v2/ClientIntegrationInformation", headers=po_token(PO_ACME)).json()
    assert acme["ClientName"] == "Acme Transport AS"
    assert "Payroll" in acme["ActiveClientSubscriptions"]
    assert "SalaryLine_Full" in acme["ValidPrivileges"] and acme["InvalidPrivileges"] == []
    gamma = po_http.get("/v2/ClientIntegrationInformation", headers=po_token(PO_GAMMA_NO_PAYROLL)).json()
    assert gamma["ActiveClientSubscriptions"] == []
    assert "SalaryLine_Full" in gamma["InvalidPrivileges"]
    delta = po_http.get("/v2/ClientIntegrationInformation", headers=po_token(PO_DELTA_NO_PRIVILEGE)).json()
    assert delta["InvalidPrivileges"] == ["SalaryLine_Full"]


def test_payroll_endpoints_are_forbidden_without_module_or_privilege(
    po_http: httpx.Client, po_token: Headers
):
    gamma = po_token(PO_GAMMA_NO_PAYROLL)
    for path in ("/v2/Employees", "/v2/PayItems", "/v2/SalaryLines"):
        response = po_http.get(path, headers=gamma)
        assert response.status_code == 403
        assert "Payroll" in response.json()["detail"]
    delta = po_token(PO_DELTA_NO_PRIVILEGE)
    assert po_http.get("/v2/Employees", headers=delta).status_code == 200
    denied = _post_line(po_http, delta, "x:1", EmployeeId=800001)
    assert denied.status_code == 403
    assert "SalaryLine_Full" in denied.json()["detail"]


def test_employee_number_filter_takes_lists_and_ranges(po_http: httpx.Client, po_token: Headers):
    headers = po_token()

    def numbers(filter_: str) -> list[int]:
        return _employee_numbers(
            po_http.get("/v2/Employees", params={"employeeNos": filter_}, headers=headers)
        )

    assert numbers("1001, 1003") == [1001, 1003]
    assert numbers("1002-1005") == [1002, 1003, 1005]
    assert numbers("1003-") == [1003, 1005]
    assert numbers("") == [1001, 1002, 1003, 1005]
    assert po_http.get("/v2/Employees", params={"employeeNos": "9000-"}, headers=headers).status_code == 204
    assert po_http.get("/v2/Employees", params={"employeeNos": "abc"}, headers=headers).status_code == 400
    assert parse_number_filter("1, 100-200, 500-") == [(1, 1), (100, 200), (500, None)]


def test_paging_is_one_based_with_bounded_page_size(po_http: httpx.Client, po_token: Headers):
    headers = po_token()

    def page(number: int, size: int) -> httpx.Response:
        return po_http.get("/v2/Employees", params={"PageNumber": number, "PageSize": size}, headers=headers)

    assert _employee_numbers(page(1, 3)) == [1001, 1002, 1003]
    assert _employee_numbers(page(2, 3)) == [1005]
    assert page(3, 3).status_code == 204
    assert page(1, 20000).status_code == 200
    too_big = page(1, 20001)
    assert too_big.status_code == 400 and "20000" in too_big.json()["detail"]
    assert po_http.get("/v2/Employees", params={"$top": 1}, headers=headers).status_code == 400


def test_pay_items_filter_on_codes_and_active(po_http: httpx.Client, po_token: Headers):
    headers = po_token()
    codes = po_http.get("/v2/PayItems", params={"codes": "710, 730,999"}, headers=headers).json()
    assert sorted(p["Code"] for p in codes) == ["710", "730"]
    inactive = po_http.get("/v2/PayItems", params={"isActive": "false"}, headers=headers).json()
    assert [p["Code"] for p in inactive] == ["730"]
    one = po_http.get(f"/v2/PayItems/{codes[0]['Id']}", headers=headers)
    assert one.status_code == 200 and one.json()["Code"] == codes[0]["Code"]
    missing = po_http.get("/v2/PayItems/21d4ddf1-c8bf-4874-8879-b70468fa1032", headers=headers)
    assert missing.status_code == 404


def test_salary_lines_are_visible_only_to_the_client_that_created_them(po_http, po_token, po_emulator):
    acme, beta = po_token(PO_ACME), po_token(PO_BETA)
    assert po_http.get("/v2/SalaryLines", headers=acme).status_code == 204
    created = _post_line(po_http, acme, "vis:1")
    assert created.status_code == 201
    line = created.json()
    assert isinstance(line["Id"], int) and line["IsLocked"] is False and line["Quantity"] == 12.5
    assert [dto["Id"] for dto in po_http.get("/v2/SalaryLines", headers=acme).json()] == [line["Id"]]
    assert po_http.get("/v2/SalaryLines", headers=beta).status_code == 204
    assert po_http.get(f"/v2/SalaryLines/{line['Id']}", headers=beta).status_code == 404
    assert po_http.delete(f"/v2/SalaryLines/{line['Id']}", headers=beta).status_code == 404
    assert [dto["Id"] for dto in po_emulator.salary_lines(PO_ACME)] == [line["Id"]]
    assert po_emulator.salary_lines(PO_BETA) == []


def test_post_salary_line_validation(po_http: httpx.Client, po_token: Headers):
    headers = po_token()
    # Naming an employee or pay item the client does not have is a 404, as the spec documents for POST.
    unknown_employee = _post_line(po_http, headers, "v:1", EmployeeId=123)
    assert unknown_employee.status_code == 404
    assert unknown_employee.json()["detail"] == "Employee with id = 123 not found."
    unknown_pay_item = _post_line(po_http, headers, "v:1b", PayItemId="00000000-0000-0000-0000-000000000000")
    assert unknown_pay_item.status_code == 404 and "not found" in unknown_pay_item.json()["detail"]
    inactive = _post_line(po_http, headers, "v:2", PayItemId=_pay_item_id(po_http, headers, "730"))
    assert inactive.status_code == 400 and "not active" in inactive.json()["detail"]
    assert _post_line(po_http, headers, "v:3", Quantity="12.50").status_code == 400  # numbers, not strings
    assert _post_line(po_http, headers, "v:4", employee_id=1).status_code == 400  # unknown (snake_case) field
    no_json = po_http.post(
        "/v2/SalaryLines", content=b"{not json", headers={**headers, "Content-Type": "application/json"}
    )
    assert no_json.status_code == 400
    missing = po_http.post("/v2/SalaryLines", json={"Quantity": 1}, headers=headers)
    assert missing.status_code == 400 and "EmployeeId" in missing.json()["detail"]


def test_a_rate_on_the_line_overrides_a_fixed_rate_pay_items_own_rate(
    po_http: httpx.Client, po_token: Headers
):
    """PowerOffice's ProcessingType description: QuantityAndFixedRate takes the pay item's rate (715 has 5.30)
    unless the line sends a Rate; Go calculates the amount from quantity and rate."""
    headers = po_token()
    fixed = _pay_item_id(po_http, headers, "715")
    own = _post_line(po_http, headers, "fix:1", PayItemId=fixed, Rate=None, Quantity=100)
    assert own.status_code == 201
    assert (own.json()["Rate"], own.json()["Amount"]) == (5.3, 530.0)  # 100 km x 5.30
    overridden = _post_line(po_http, headers, "fix:2", PayItemId=fixed, Rate=4.9, Quantity=318.2)
    assert overridden.status_code == 201
    assert (overridden.json()["Rate"], overridden.json()["Amount"]) == (
        4.9,
        1559.18,
    )  # 318.20 x 4.90 = 1559.18
    # QuantityAndRate has no rate of its own: the line must send one.
    no_rate = _post_line(po_http, headers, "fix:3", Rate=None)
    assert no_rate.status_code == 400 and "Rate field is required" in no_rate.json()["detail"]
    refund = _pay_item_id(po_http, headers, "720")
    no_amount = _post_line(po_http, headers, "fix:4", PayItemId=refund, Quantity=None, Rate=None)
    assert no_amount.status_code == 400 and "Amount field is required" in no_amount.json()["detail"]


def test_duplicate_external_import_reference_names_the_existing_line(
    po_http: httpx.Client, po_token: Headers
):
    headers = po_token()
    first = _post_line(po_http, headers, "exp-42:1001:710").json()
    again = _post_line(po_http, headers, "exp-42:1001:710")
    assert again.status_code == 400
    assert again.json()["title"] == "Salary line validation error(s)"
    assert again.json()["detail"] == (
        f"ExternalImportReference is already in use. 'exp-42:1001:710' is used on salary line with Id = {first['Id']}."
    )
    # The rule is per client: another company may use the same reference.
    assert _post_line(po_http, po_token(PO_BETA), "exp-42:1001:710", EmployeeId=600001,
                      PayItemId=_pay_item_id(po_http, po_token(PO_BETA), "710")).status_code == 201  # fmt: skip


def test_locked_lines_cannot_be_deleted(po_http: httpx.Client, po_token: Headers):
    headers = po_token()
    line_id = _post_line(po_http, headers, "lock:1").json()["Id"]
    po_http.post("/_control/lock", json={"salary_line_ids": [line_id]})
    assert po_http.get(f"/v2/SalaryLines/{line_id}", headers=headers).json()["IsLocked"] is True
    conflict = po_http.delete(f"/v2/SalaryLines/{line_id}", headers=headers)
    assert conflict.status_code == 409
    assert conflict.json() == {
        "title": "Salary line conflict",
        "detail": f"Salary line with id = {line_id} is in use and cannot be deleted.",
        "status": 409,
    }
    po_http.post("/_control/lock", json={"all": True})
    later = _post_line(po_http, headers, "lock:2").json()
    assert later["IsLocked"] is True
    missing = po_http.delete("/v2/SalaryLines/99", headers=headers)
    assert missing.status_code == 404 and missing.json()["detail"] == "Salary line with id = 99 not found."


def test_rate_limit_answers_429_with_the_documented_body(po_http, po_token, po_emulator: PowerOfficeEmulator):
    po_http.put("/_control/rate-limit", json={"requests_per_second": 5})
    po_http.post("/_control/stats/reset")
    headers = po_token()  # the token call counts too: every request does
    statuses = [po_http.get("/v2/ClientIntegrationInformation", headers=headers) for _ in range(8)]
    throttled = [r for r in statuses if r.status_code == 429]
    assert len(throttled) == 4
    assert throttled[0].json() == {
        "statusCode": "429",
        "message": "Rate limit is exceeded. Try again in 1 seconds.",
    }
    assert throttled[0].headers["retry-after"] == "1"
    stats = po_http.get("/_control/stats").json()
    assert stats["throttled"] == len(throttled) and stats["requests"] == 9
    assert stats["max_requests_in_any_second"] == 5
    time.sleep(1.05)
    assert po_http.get("/v2/ClientIntegrationInformation", headers=headers).status_code == 200


def test_fault_rules_fail_the_nth_matching_request_for_times(
    po_http, po_token, po_emulator: PowerOfficeEmulator
):
    headers = po_token()
    po_http.post(
        "/_control/faults",
        json={"rules": [{"method": "GET", "path": "/Employees", "nth": 2, "times": 2, "status": 503}]},
    )
    statuses = [po_http.get("/v2/Employees", headers=headers).status_code for _ in range(5)]
    assert statuses == [200, 503, 503, 200, 200]
    # Other paths are not counted.
    assert po_http.get("/v2/PayItems", headers=headers).status_code == 200
    po_http.post("/_control/faults", json={"rules": [{"method": "GET", "path": "/PayItems", "status": 429}]})
    assert po_http.get("/v2/PayItems", headers=headers).status_code == 429
    po_http.post("/_control/faults", json={"rules": []})
    assert po_http.get("/v2/PayItems", headers=headers).status_code == 200


def test_after_commit_fault_creates_the_line_then_fails(po_http, po_token, po_emulator: PowerOfficeEmulator):
    headers = po_token()
    po_http.post(
        "/_control/faults", json={"rules": [{"method": "POST", "path": "/SalaryLines", "after_commit": True}]}
    )
    failed = _post_line(po_http, headers, "amb:1")
    assert failed.status_code == 500
    assert [dto["ExternalImportReference"] for dto in po_emulator.salary_lines(PO_ACME)] == ["amb:1"]


def test_reset_and_runtime_employees(po_http, po_token, po_emulator: PowerOfficeEmulator):
    headers = po_token()
    _post_line(po_http, headers, "reset:1")
    added = po_http.post(
        "/_control/employees",
        json={"client_key": PO_ACME, "employees": [{"Id": 500004, "Number": 1004, "FirstName": "Lise", "LastName": "Bakke", "IsArchived": False}]},
    )  # fmt: skip
    assert added.status_code == 200
    assert _employee_numbers(
        po_http.get("/v2/Employees", params={"employeeNos": "1004"}, headers=headers)
    ) == [1004]
    po_http.post("/_control/reset")
    assert po_emulator.salary_lines(PO_ACME) == []
    headers = po_token()  # reset forgets tokens
    assert po_http.get("/v2/Employees", params={"employeeNos": "1004"}, headers=headers).status_code == 204


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_bad_salary_line_id_is_a_problem(po_http: httpx.Client, po_token: Headers, method: str):
    response = po_http.request(method, "/v2/SalaryLines/abc", headers=po_token())
    assert response.status_code == 400
