"""The search ("Søk"): every validation problem at once, each naming what is wrong and where (SPEC 2.3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx

from local.stack import LocalStack
from tests.support import (
    ACME_KEY,
    OCTOBER,
    activate,
    connect_abax,
    demo_trips,
    fmt_total,
    map_codes,
    preview,
    salary_lines,
    trip_quantities,
)

BROKEN_CODES = {
    "mileage": "720",  # km on an ExpenseRefund pay item: PAY_ITEM_INCOMPATIBLE
    "passenger": "799",  # no such pay item: PAY_ITEM_NOT_FOUND
    "trailer": "730",  # inactive pay item: PAY_ITEM_NOT_FOUND
    "forest_road": "713",
    "heavy_load": "714",
    "toll": None,  # tolls with data but no code: PAY_CODE_NOT_CONFIGURED
    "parking": "721",
    "ferry": "722",
}


def _by_code(body: dict) -> dict[str, dict]:
    problems = {problem["code"]: problem for problem in body["problems"]}
    assert len(problems) == len(body["problems"]), "one problem per kind, each listing all its items"
    return problems


def test_preview_reports_every_problem_kind_at_once_with_its_items(
    fresh: LocalStack, acme_admin: httpx.Client
) -> None:
    activate(acme_admin)
    map_codes(acme_admin, BROKEN_CODES)

    body = preview(acme_admin, OCTOBER)

    assert body["ready"] is False
    problems = _by_code(body)
    assert set(problems) == {
        "PAY_ITEM_NOT_FOUND",
        "PAY_ITEM_INCOMPATIBLE",
        "EMPLOYEE_NUMBER_MISSING",
        "EMPLOYEE_NOT_FOUND",
        "PAY_CODE_NOT_CONFIGURED",
    }
    for problem in problems.values():
        assert problem["message"] and problem["items"]

    not_found = {item["code"]: item for item in problems["PAY_ITEM_NOT_FOUND"]["items"]}
    assert set(not_found) == {"799", "730"}
    assert "passenger" in str(not_found["799"]["categories"])
    assert "trailer" in str(not_found["730"]["categories"])
    assert "inactive" in not_found["730"]["reason"]
    assert (
        "799" in problems["PAY_ITEM_NOT_FOUND"]["message"]
        and "730" in problems["PAY_ITEM_NOT_FOUND"]["message"]
    )

    incompatible = problems["PAY_ITEM_INCOMPATIBLE"]["items"]
    assert [(item["code"], "mileage" in str(item)) for item in incompatible] == [("720", True)]

    missing = problems["EMPLOYEE_NUMBER_MISSING"]["items"]
    assert [item["driver_name"] for item in missing] == ["Nils Bakke"]
    assert all(logbook.endswith(":2026-10") for logbook in missing[0]["logbooks"]) and missing[0]["logbooks"]
    assert "Nils Bakke" in problems["EMPLOYEE_NUMBER_MISSING"]["message"]

    not_in_go = problems["EMPLOYEE_NOT_FOUND"]["items"]
    assert [(item["employee_number"], item["driver_name"]) for item in not_in_go] == [("1099", "Lise Moe")]
    assert "1099" in problems["EMPLOYEE_NOT_FOUND"]["message"]

    # How much toll is blocked, computed here from the ABAX demo data.
    tolls = [
        trip_quantities(trip, expense)["toll"]
        for trip, expense in demo_trips("acme", date(2026, 10, 1), date(2026, 10, 31))
    ]
    blocked = problems["PAY_CODE_NOT_CONFIGURED"]["items"]
    assert [item["category"] for item in blocked] == ["toll"]
    assert blocked[0]["total"] == fmt_total(sum(tolls, Decimal(0)))
    assert blocked[0]["trips"] == sum(1 for toll in tolls if toll)
    assert "toll" in problems["PAY_CODE_NOT_CONFIGURED"]["message"]

    # the drivers are all listed, and the search created nothing
    names = {logbook["driver"]["name"] for logbook in body["logbooks"]}
    assert {"Ola Nordmann", "Kari Hansen", "Per Olsen", "Nils Bakke", "Lise Moe"} <= names
    assert acme_admin.get("/exports").json()["exports"] == []
    assert salary_lines(fresh, ACME_KEY) == []


def test_preview_of_the_good_logbooks_with_every_code_mapped_is_ready(acme: httpx.Client) -> None:
    body = preview(acme, OCTOBER)
    selected = [
        lb["logbook_id"]
        for lb in body["logbooks"]
        if lb["driver"]["employee_number"] in ("1001", "1002", "1003")
    ]

    ready = preview(acme, OCTOBER, selected)

    assert ready["ready"] is True
    assert ready["problems"] == []
    assert ready["lines"]
    assert {line["employee_number"] for line in ready["lines"]} == {"1001", "1002", "1003"}
    assert not any(lb["already_exported"] for lb in ready["logbooks"])


def test_preview_without_an_active_integration_says_so(acme_admin: httpx.Client) -> None:
    connect_abax(
        acme_admin
    )  # ABAX connected, PowerOffice Go not (ABAX alone: tests/e2e/test_abax_integration.py)
    response = acme_admin.post("/exports/preview", json=OCTOBER)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "INTEGRATION_INACTIVE"
