"""Exports that succeed: lines checked in PowerOffice Go, no double payment, one at a time, the list."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date
from decimal import Decimal

import httpx

from local.stack import LocalStack
from tests.support import (
    ACME_KEY,
    ALL_CODES,
    OCTOBER,
    demo_trips,
    employees_by_id,
    export_and_wait,
    fmt_total,
    good_logbooks,
    oslo_date,
    pay_items_by_id,
    preview,
    round2,
    salary_lines,
    start_export,
    trip_quantities,
    wait_for_export,
)

RATE_CHANGE = {"from": "2025-12-01", "to": "2026-01-31"}
STATE_MILEAGE_RATES = {2025: Decimal("5.00"), 2026: Decimal("5.30")}
OTHER_KM_RATE = Decimal("1.00")
KM_CATEGORIES = ("mileage", "passenger", "trailer", "forest_road", "heavy_load")


def _expected_lines_for_ola() -> dict[tuple[str, Decimal | None], dict]:
    """(pay-item code, rate) -> quantity/amount/trips, summed here from the raw ABAX demo data."""
    expected: dict[tuple[str, Decimal | None], dict] = defaultdict(
        lambda: {"quantity": Decimal(0), "amount": Decimal(0), "trips": set(), "days": set()}
    )
    trips = demo_trips("acme", date(2025, 12, 1), date(2026, 1, 31), employee_number="1001")
    assert {trip["start"]["location"]["timestamp"][:7] for trip, _ in trips} >= {"2025-12", "2026-01"}
    for trip, expense in trips:
        day = oslo_date(trip["start"]["location"]["timestamp"])
        for category, value in trip_quantities(trip, expense).items():
            if not value:
                continue
            rate: Decimal | None
            if category in KM_CATEGORIES:
                rate = STATE_MILEAGE_RATES[day.year] if category == "mileage" else OTHER_KM_RATE
                entry = expected[(ALL_CODES[category], rate)]
                entry["quantity"] += value
            else:
                entry = expected[(ALL_CODES[category], None)]
                entry["amount"] += value
            entry["trips"].add(trip["id"])
            entry["days"].add(day)
    for (_, rate), entry in expected.items():
        if rate is not None:
            entry["quantity"] = round2(entry["quantity"])
            entry["amount"] = round2(entry["quantity"] * rate)
        else:
            entry["amount"] = round2(entry["amount"])
    return dict(expected)


def test_export_across_the_rate_change_creates_one_line_per_rate_with_the_right_sums(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    expected = _expected_lines_for_ola()
    assert ("710", Decimal("5.00")) in expected and ("710", Decimal("5.30")) in expected

    record = export_and_wait(acme, RATE_CHANGE)

    assert record["status"] == "COMPLETED", record
    assert record["period"] == {"from": "2025-12-01", "to": "2026-01-31"}
    assert record["trigger"] == "manual"
    pay_items = pay_items_by_id()
    employees = employees_by_id()
    in_go = salary_lines(fresh, ACME_KEY)
    assert len(in_go) == len(expected) == len(record["lines"])
    seen: set[tuple[str, Decimal | None]] = set()
    for line in in_go:
        pay_item = pay_items[line["PayItemId"].lower()]
        assert employees[line["EmployeeId"]]["Number"] == 1001
        key: tuple[str, Decimal | None]
        if pay_item["ProcessingType"].startswith("QuantityAndRate"):
            key = (pay_item["Code"], Decimal(str(line["Rate"])))
            assert Decimal(str(line["Quantity"])) == expected[key]["quantity"], (key, line)
            assert Decimal(str(line["Amount"])) == expected[key]["amount"], (key, line)  # Go: quantity x rate
        else:
            assert pay_item["ProcessingType"] == "ExpenseRefund"
            key = (pay_item["Code"], None)
            assert Decimal(str(line["Amount"])) == expected[key]["amount"], (key, line)
            assert line["Quantity"] is None and line["Rate"] is None
        seen.add(key)
        days = sorted(expected[key]["days"])  # the line's own first and last trip dates, not the period's
        dates = f"{days[0]:%d.%m.%Y}" if days[0] == days[-1] else f"{days[0]:%d.%m.%Y}-{days[-1]:%d.%m.%Y}"
        assert line["Comment"].startswith("ABAX ") and f" {dates}: " in line["Comment"], line["Comment"]
        assert f"{len(expected[key]['trips'])} tur" in line["Comment"]
        assert line["ExternalImportReference"]
        assert not line["IsLocked"]
    assert seen == set(expected)
    assert len({line["ExternalImportReference"] for line in in_go}) == len(in_go)

    # the export record says the same, in this API's own format (strings with 2 decimals)
    by_key: dict[tuple[str, Decimal | None], dict] = {}
    for line in record["lines"]:
        by_key[(line["pay_item_code"], Decimal(line["rate"]) if line["rate"] is not None else None)] = line
        assert line["employee_number"] == "1001" and line["employee_name"] == "Ola Nordmann"
    assert set(by_key) == set(expected)
    for key, want in expected.items():
        got = by_key[key]
        assert got["amount"] == fmt_total(want["amount"]), key
        if key[1] is not None:
            assert got["quantity"] == fmt_total(want["quantity"]) and got["rate"] == f"{key[1]:.2f}", key
        assert got["trip_count"] == len(want["trips"]), key
    assert record["total_amount"] == fmt_total(
        sum((want["amount"] for want in expected.values()), Decimal(0))
    )


def test_the_export_record_lines_carry_salary_line_ids_that_exist_in_poweroffice(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    planned = preview(acme, OCTOBER, logbooks)["lines"]

    record = export_and_wait(acme, OCTOBER, logbooks)

    assert record["status"] == "COMPLETED", record
    assert record["line_count"] == len(planned) == len(record["lines"])
    assert record["lines_pushed"] == len(planned)
    in_go = {line["Id"]: line for line in salary_lines(fresh, ACME_KEY)}
    assert sorted(line["salary_line_id"] for line in record["lines"]) == sorted(in_go)
    for line in record["lines"]:
        assert in_go[line["salary_line_id"]]["ExternalImportReference"] == line["external_import_reference"]
    assert record["execution_arn"].endswith(f":{record['export_id']}")
    assert record["finished_at"]
    listed = acme.get("/exports").json()["exports"]
    assert [(e["export_id"], e["status"]) for e in listed] == [(record["export_id"], "COMPLETED")]


def test_a_second_export_of_the_same_period_is_refused_and_the_preview_marks_it(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    first = export_and_wait(acme, OCTOBER, logbooks)
    assert first["status"] == "COMPLETED"
    lines_after_first = len(salary_lines(fresh, ACME_KEY))

    for body in ({**OCTOBER, "logbook_ids": logbooks}, {**OCTOBER, "logbook_ids": logbooks[:1]}):
        response = acme.post("/exports", json=body)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "ALREADY_EXPORTED"
        assert "already" in response.json()["detail"]
        blocked = response.json()["problems"][0]["items"]
        assert {item["logbook_id"] for item in blocked} == set(body["logbook_ids"])
        assert all(item["exports"] == [first["export_id"]] for item in blocked)

    marked = preview(acme, OCTOBER)
    for logbook in marked["logbooks"]:
        assert logbook["already_exported"] is (logbook["logbook_id"] in logbooks), logbook
    assert len(salary_lines(fresh, ACME_KEY)) == lines_after_first
    assert len(acme.get("/exports").json()["exports"]) == 1


def test_two_exports_started_at_once_one_runs_the_other_is_told_one_is_in_progress(
    acme: httpx.Client,
) -> None:
    logbooks = good_logbooks(acme)
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(2)

    def post() -> None:
        barrier.wait()
        answers.append(acme.post("/exports", json={**OCTOBER, "logbook_ids": logbooks}))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [202, 409], [answer.text for answer in answers]
    started = next(answer for answer in answers if answer.status_code == 202).json()
    refused = next(answer for answer in answers if answer.status_code == 409).json()
    assert refused["code"] == "EXPORT_IN_PROGRESS"
    assert wait_for_export(acme, started["export_id"])["status"] == "COMPLETED"
    assert len(acme.get("/exports").json()["exports"]) == 1


def test_the_export_list_is_newest_first_and_paginates(acme: httpx.Client) -> None:
    # Exports of all October logbooks stop at validation (Nils Bakke, Lise Moe): quick to make several.
    started = []
    for _ in range(3):
        export_id = start_export(acme, OCTOBER)
        assert wait_for_export(acme, export_id)["status"] == "VALIDATION_FAILED"
        started.append(export_id)
    newest_first = list(reversed(started))

    everything = acme.get("/exports").json()
    assert [e["export_id"] for e in everything["exports"]] == newest_first
    assert everything["next_token"] is None

    pages: list[str] = []
    token: str | None = None
    for _ in range(5):
        params: dict[str, str | int] = {"limit": 2, **({"next_token": token} if token else {})}
        response = acme.get("/exports", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["exports"]) <= 2
        pages.extend(e["export_id"] for e in page["exports"])
        token = page["next_token"]
        if not token:
            break
    assert pages == newest_first

    bad = acme.get("/exports", params={"limit": 2, "next_token": "not-a-token"})
    assert bad.status_code == 400, bad.text


def test_a_validation_failure_is_recorded_with_every_problem_and_creates_nothing(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    record = export_and_wait(acme, OCTOBER)

    assert record["status"] == "VALIDATION_FAILED"
    assert {problem["code"] for problem in record["problems"]} == {
        "EMPLOYEE_NUMBER_MISSING",
        "EMPLOYEE_NOT_FOUND",
    }
    assert record["lines"] == []
    assert salary_lines(fresh, ACME_KEY) == []
    # nothing was claimed: the good logbooks can still be exported
    assert export_and_wait(acme, OCTOBER, good_logbooks(acme))["status"] == "COMPLETED"


def test_unknown_export_is_404(acme: httpx.Client) -> None:
    for export_id in ("20260101T000000Z-00000000", "nope"):
        response = acme.get(f"/exports/{export_id}")
        assert response.status_code == 404
        assert response.json()["code"] == "NOT_FOUND"
