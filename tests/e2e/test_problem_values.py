"""Every problem and error carries a stable code and the facts as machine values (a client writes the sentence
in its user's language from them), next to the English message that stays for API users."""

from __future__ import annotations

import re

import httpx

from local.stack import LocalStack
from tests.support import OCTOBER, export_and_wait, good_logbooks, map_codes, preview, set_faults

LOGBOOK_ID = re.compile(r"^d-\d+:v-\d+:\d{4}-\d{2}$")


def test_preview_problems_carry_codes_and_values_and_people_see_names(acme: httpx.Client) -> None:
    map_codes(acme, {"mileage": "730", "passenger": "711", "toll": None, "parking": "721", "ferry": "722"})
    body = preview(acme, OCTOBER)
    problems = {problem["code"]: problem for problem in body["problems"]}

    not_found = problems["PAY_ITEM_NOT_FOUND"]
    assert not_found["params"] == {"codes": ["730"]}
    (item,) = not_found["items"]
    assert (item["reason_code"], item["pay_item_name"], item["categories"]) == (
        "INACTIVE",
        "Gammel km-sats",
        ["mileage"],
    )

    assert problems["EMPLOYEE_NUMBER_MISSING"]["params"] == {"drivers": ["Nils Bakke"]}
    (missing,) = problems["EMPLOYEE_NOT_FOUND"]["items"]
    assert (missing["employee_number"], missing["driver_name"], missing["reason_code"]) == (
        "1099",
        "Lise Moe",
        "NOT_FOUND",
    )
    blocked = problems["PAY_CODE_NOT_CONFIGURED"]
    assert "toll" in blocked["params"]["categories"]
    toll = next(item for item in blocked["items"] if item["category"] == "toll")
    assert toll["unit"] == "NOK" and re.fullmatch(r"\d+\.\d{2}", toll["total"])  # a decimal string, not words

    # Vehicles by their ABAX alias, lines with the pay item's name beside its code.
    aliases = {logbook["driver"]["name"]: logbook["vehicle_alias"] for logbook in body["logbooks"]}
    assert aliases["Ola Nordmann"] == "Olas Golf"
    assert all(alias for alias in aliases.values())
    names = {line["pay_item_code"]: line["pay_item_name"] for line in body["lines"]}
    assert names["711"] == "Passasjertillegg" and names["721"] == "Parkering"


def test_errors_carry_values_a_client_can_say_in_its_own_words(acme: httpx.Client) -> None:
    backwards = acme.post("/exports/preview", json={"from": "2026-10-31", "to": "2026-10-01"})
    assert backwards.status_code == 400
    assert backwards.json()["code"] == "INVALID_PERIOD"
    assert backwards.json()["params"] == {
        "reason": "TO_BEFORE_FROM",
        "from": "2026-10-31",
        "to": "2026-10-01",
    }

    unknown = acme.get("/exports/20261001T120000000Z-0123abcd")
    assert unknown.status_code == 404
    assert unknown.json()["params"] == {"export_id": "20261001T120000000Z-0123abcd"}


def test_an_exported_logbook_is_left_out_of_a_new_search_and_a_chosen_one_is_refused_with_names(
    acme: httpx.Client,
) -> None:
    logbooks = good_logbooks(acme)
    first = export_and_wait(acme, OCTOBER, logbooks[:1])
    assert first["status"] == "COMPLETED", first

    again = preview(acme, OCTOBER)
    exported = [logbook for logbook in again["logbooks"] if logbook["already_exported"]]
    assert [logbook["logbook_id"] for logbook in exported] == logbooks[:1]
    assert not exported[0]["selected"]  # left unticked, not a blocking problem
    assert "ALREADY_EXPORTED" not in {problem["code"] for problem in again["problems"]}

    refused = acme.post("/exports", json={**OCTOBER, "logbook_ids": logbooks[:1]})
    assert refused.status_code == 409
    assert refused.json()["params"] == {"count": 1, "from": "2026-10-01", "to": "2026-10-31"}
    (item,) = refused.json()["problems"][0]["items"]
    assert item["driver_name"] and item["vehicle_alias"] and item["month"] == "2026-10"
    assert item["exports"] == [first["export_id"]]


def test_a_refused_salary_line_is_reported_with_its_employee_and_pay_item(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    set_faults(fresh, [{"method": "POST", "path": "/SalaryLines", "nth": 2, "times": 100, "status": 500}])
    record = export_and_wait(acme, OCTOBER, logbooks)
    assert record["status"] == "ROLLED_BACK", record
    error = record["error"]
    assert (error["code"], error["problem_code"]) == ("PushFailed", "PUSH_FAILED")
    assert not error["message"].startswith("PushFailed")  # the name is not said twice
    values = error["params"]
    assert values["status"] == 500
    assert values["employee_name"] and values["employee_number"] and values["pay_item_code"]
    assert re.fullmatch(r"\d+\.\d{2}", values["amount"])
