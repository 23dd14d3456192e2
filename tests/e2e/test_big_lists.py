"""A company of thousands of drivers: lists that grow with it never break an AWS limit (issue 16).

An export's validation problems and warnings can name every driver or every trip: 5,000 drivers without an
employee number, or thousands of trips whose supplements were capped. The export record is one DynamoDB item
(400 KB at most, which moto enforces as AWS does): it keeps a bounded summary of each problem, and the whole
list is an S3 object beside the documentation report, paged by `GET /exports/{id}/problems/{code}`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import httpx
import pytest

from abax_payroll.workflow.services import reset_services
from local.aws import REGION, TABLE
from local.stack import LocalStack
from tests.support import (
    ACME_KEY,
    ALL_CODES,
    FULL,
    export_and_wait,
    lock_all_lines,
    preview,
    salary_lines,
    set_faults,
    start_export,
    wait_for_export,
)

AUGUST = {"from": "2026-08-01", "to": "2026-08-31"}  # no demo trips: only this test's company
DYNAMODB_ITEM_LIMIT = 400 * 1024


@pytest.fixture
def fast_abax(fresh: LocalStack) -> Iterator[None]:
    """ABAX's per-minute limit raised (emulator and pacing alike): these months take dozens of calls."""
    saved = os.environ.get("ABAX_REQUESTS_PER_WINDOW")
    fresh.abax.set_rate_limit(100_000)
    os.environ["ABAX_REQUESTS_PER_WINDOW"] = "100000"
    reset_services()
    yield
    if saved is None:
        os.environ.pop("ABAX_REQUESTS_PER_WINDOW", None)
    else:
        os.environ["ABAX_REQUESTS_PER_WINDOW"] = saved
    reset_services()


def _trip(number: int, driver: dict[str, Any], day: int, distance: float) -> dict[str, Any]:
    began = f"2026-08-{day:02d}T{6 + number % 12:02d}:{number % 60:02d}:00Z"
    ended = f"2026-08-{day:02d}T{7 + number % 12:02d}:{number % 60:02d}:00Z"
    return {
        "id": f"big-{number:06d}-4a9e-b0f1-7d1c00000000",
        "vehicle": {"id": f"veh-{driver['id']}", "alias": "Egen bil", "commercial_class": "Private"},
        "driver": driver,
        "start": {
            "location": {"latitude": 59.91, "longitude": 10.75, "timestamp": began},
            "address": "Karl Johans gate 1, 0154 Oslo",
        },
        "finish": {
            "location": {"latitude": 59.13, "longitude": 10.22, "timestamp": ended},
            "address": "Torget 2, 3210 Sandefjord",
        },
        "distance": distance,
        "purpose": "Kundebesøk",
        "commercial_class": "BusinessTrip",
    }


def _record_item_bytes(tenant: str, export_id: str) -> int:
    """The export record's size as DynamoDB counts it (names + values), read straight from the table."""
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE, Key={"pk": {"S": f"TENANT#{tenant}"}, "sk": {"S": f"EXPORT#{export_id}"}}
    )["Item"]
    return len(json.dumps(item, default=str).encode())


def _all_items(client: httpx.Client, owner: str, code: str, limit: int = 1000) -> list[dict[str, Any]]:
    """Every item of one problem of an export or search (`owner`: its path), page by page as the web app reads."""
    if not owner.startswith("/"):
        owner = f"/exports/{owner}"
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        response = client.get(f"{owner}/problems/{code}", params={"offset": offset, "limit": limit})
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["code"] == code and page["offset"] == offset
        items += page["items"]
        offset = page["next_offset"]
        pages += 1
    assert pages >= 2  # really paged
    return items


def test_5000_drivers_without_employee_numbers_end_validation_failed_naming_every_driver(
    fresh: LocalStack, acme: httpx.Client, fast_abax: None
) -> None:
    drivers = [
        {"id": f"drv-{n:05d}", "external_id": None, "name": f"Sjåfør uten ansattnummer {n:05d}"}
        for n in range(5000)
    ]
    trips = [_trip(n, driver, 1 + n % 28, 42.0) for n, driver in enumerate(drivers)]
    fresh.abax.add_data("acme", trips, [])

    # The search names them all too: its answer the first 100, the rest paged like an export's.
    searched = preview(acme, AUGUST)
    [found] = [problem for problem in searched["problems"] if problem["code"] == "EMPLOYEE_NUMBER_MISSING"]
    assert found["item_count"] == 5000 and found["truncated"] is True and len(found["items"]) == 100
    named = _all_items(acme, f"/exports/previews/{searched['preview_id']}", "EMPLOYEE_NUMBER_MISSING")
    assert sorted(item["driver_name"] for item in named) == sorted(driver["name"] for driver in drivers)

    record = export_and_wait(acme, AUGUST)

    # Today's record would be ~660 KB: the write fails and the export ends FAILED without saying why.
    assert record["status"] == "VALIDATION_FAILED", record.get("error")
    [problem] = [problem for problem in record["problems"] if problem["code"] == "EMPLOYEE_NUMBER_MISSING"]
    assert problem["severity"] == "error" and problem["item_count"] == 5000
    assert problem["truncated"] is True and 0 < len(problem["items"]) < 5000
    assert _record_item_bytes("acme", record["export_id"]) < DYNAMODB_ITEM_LIMIT
    # Every driver is named: the whole list, paged.
    items = _all_items(acme, record["export_id"], "EMPLOYEE_NUMBER_MISSING")
    assert sorted(item["driver_name"] for item in items) == sorted(driver["name"] for driver in drivers)
    assert items[: len(problem["items"])] == problem["items"]  # the summary is the list's beginning


def test_thousands_of_warnings_are_kept_with_a_completed_export(
    fresh: LocalStack, acme: httpx.Client, fast_abax: None
) -> None:
    # The three demo employees who exist in PowerOffice Go, 1,200 trips each in August, every trip with a
    # trailer supplement longer than the trip and passenger km without the passengers' names.
    drivers = [
        {"id": "d-1001", "external_id": "1001", "name": "Ola Nordmann"},
        {"id": "d-1002", "external_id": "1002", "name": "Kari Hansen"},
        {"id": "d-1003", "external_id": "1003", "name": "Per Olsen"},
    ]
    trips = [_trip(n, drivers[n % 3], 1 + (n // 3) % 28, 12.5) for n in range(3600)]
    expenses = [
        {
            "trip_id": trip["id"],
            "expense": {},
            "extra": {"distance_with_trailer_in_km": 30.0, "distance_with_passenger_in_km": 10.0},
        }
        for trip in trips
    ]
    fresh.abax.add_data("acme", trips, expenses)
    # Unnamed passengers' supplement is taxable (issue 22): a pay item for the taxable part takes it.
    assert acme.put("/payroll-codes", json={"codes": ALL_CODES, "taxable_excess": "740"}).status_code == 200

    record = export_and_wait(acme, AUGUST)

    # Today the warnings (~1.4 MB) make Group's write fail: FAILED, nothing pushed.
    assert record["status"] == "COMPLETED", record.get("error")
    assert record["lines_pushed"] == record["line_count"] > 0
    assert _record_item_bytes("acme", record["export_id"]) < DYNAMODB_ITEM_LIMIT
    warnings = {problem["code"]: problem for problem in record["problems"]}
    assert {"SUPPLEMENT_CAPPED", "PASSENGER_NAMES_MISSING"} <= set(warnings)
    for code in ("SUPPLEMENT_CAPPED", "PASSENGER_NAMES_MISSING"):
        assert warnings[code]["severity"] == "warning"
        assert warnings[code]["item_count"] == 3600 and warnings[code]["truncated"] is True
        items = _all_items(acme, record["export_id"], code)
        assert sorted(item["trip_id"] for item in items) == sorted(trip["id"] for trip in trips)


def test_a_small_problem_list_is_kept_whole_on_the_record(fresh: LocalStack, acme: httpx.Client) -> None:
    record = export_and_wait(acme, {"from": "2026-10-01", "to": "2026-10-31"})  # the demo's 2 bad drivers

    assert record["status"] == "VALIDATION_FAILED"
    for problem in record["problems"]:
        assert problem["truncated"] is False and problem["item_count"] == len(problem["items"])
        page = acme.get(f"/exports/{record['export_id']}/problems/{problem['code']}").json()
        assert page["items"] == problem["items"] and page["next_offset"] is None


def test_problems_of_an_unknown_code_or_export_are_404(fresh: LocalStack, acme: httpx.Client) -> None:
    record = export_and_wait(acme, {"from": "2026-10-01", "to": "2026-10-31"})
    assert acme.get(f"/exports/{record['export_id']}/problems/RATE_MISSING").status_code == 404
    assert acme.get("/exports/20260101T000000000Z-00000000/problems/RATE_MISSING").status_code == 404
    assert (
        acme.get(
            f"/exports/{record['export_id']}/problems/EMPLOYEE_NOT_FOUND", params={"limit": 0}
        ).status_code
        == 422
    )


def test_a_month_of_14000_lines_is_shown_page_by_page_never_past_lambdas_6_mb(
    fresh: LocalStack, acme: httpx.Client, fast_abax: None
) -> None:
    # 3,500 employees in PowerOffice Go, each with one trip in August carrying a toll, parking and a ferry:
    # four lines each. The search's and the export's answers with every line would be 7 and 9 MB.
    employees = [
        {
            "Id": 800000 + n,
            "Number": 20000 + n,
            "FirstName": "Ansatt",
            "LastName": f"{n:05d}",
            "IsArchived": False,
        }
        for n in range(3500)
    ]
    answer = httpx.post(
        f"{fresh.url}/emulators/poweroffice/_control/employees",
        json={"client_key": ACME_KEY, "employees": employees},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    trips = [
        _trip(
            n,
            {"id": f"drv-{n:05d}", "external_id": str(20000 + n), "name": f"Ansatt {n:05d}"},
            1 + n % 28,
            41.3,
        )
        for n in range(3500)
    ]
    expenses = [
        {
            "trip_id": trip["id"],
            "expense": {"toll_charge": 47.5, "parking": 60.0, "ferry": 184.0},
            "extra": {},
        }
        for trip in trips
    ]
    fresh.abax.add_data("acme", trips, expenses)

    searched = acme.post("/exports/preview", json=AUGUST)

    assert searched.status_code == 200, searched.text[:500]
    assert len(searched.content) < 6 * 1024 * 1024
    body = searched.json()
    assert body["ready"] is True and body["totals"]["lines"] == 14000
    assert len(body["lines"]) == 1000 and body["lines_next_offset"] == 1000
    # Each page of a search plans it again (about 1.5 s here): the second page and the last one.
    search = f"/exports/previews/{body['preview_id']}"
    second = _page(acme, search, 1000)
    last = _page(acme, search, 13000)
    assert second["next_offset"] == 2000 and last["next_offset"] is None and len(last["lines"]) == 1000
    searched_lines = body["lines"] + second["lines"] + last["lines"]
    assert len({(line["employee_number"], line["pay_item_code"]) for line in searched_lines}) == 3000

    # The export plans the same lines; its first POST is refused, so it rolls back with nothing created.
    set_faults(fresh, [{"method": "POST", "path": "/SalaryLines", "nth": 1, "times": 1, "status": 400}])
    record = export_and_wait(acme, AUGUST)
    assert record["status"] == "ROLLED_BACK", record.get("error")
    assert record["line_count"] == 14000 and len(record["lines"]) == 1000
    assert record["lines_next_offset"] == 1000
    lines = _all_lines(acme, f"/exports/{record['export_id']}", record["lines"])
    assert len({(line["employee_number"], line["pay_item_code"]) for line in lines}) == 14000
    assert sum(Decimal(line["amount"]) for line in lines) == Decimal(body["totals"]["amount"])
    key = ("employee_number", "pay_item_code", "quantity", "rate", "amount")
    exported = {tuple(line[name] for name in key) for line in lines}
    assert all(tuple(line[name] for name in key) in exported for line in searched_lines)


def _page(client: httpx.Client, owner: str, offset: int) -> dict[str, Any]:
    response = client.get(f"{owner}/lines", params={"offset": offset})
    assert response.status_code == 200, response.text[:500]
    assert len(response.content) < 6 * 1024 * 1024
    page: dict[str, Any] = response.json()
    assert page["offset"] == offset and page["line_count"] == 14000
    return page


def _all_lines(client: httpx.Client, owner: str, first: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = list(first)
    offset: int | None = len(first)
    while offset is not None:
        page = _page(client, owner, offset)
        lines += page["lines"]
        offset = page["next_offset"]
    return lines


@pytest.fixture
def fast_poweroffice(fresh: LocalStack) -> Iterator[None]:
    """PowerOffice Go's shared limit raised (emulator and pacing alike): these exports push thousands of lines."""
    saved = os.environ.get("POWEROFFICE_REQUESTS_PER_SECOND")

    def limit(per_second: float) -> None:
        response = httpx.put(
            f"{fresh.url}/emulators/poweroffice/_control/rate-limit",
            json={"requests_per_second": per_second},
            timeout=10,
        )
        assert response.status_code == 200, response.text

    limit(100_000)
    os.environ["POWEROFFICE_REQUESTS_PER_SECOND"] = "100000"
    reset_services()
    yield
    limit(float(saved or 10))
    if saved is None:
        os.environ.pop("POWEROFFICE_REQUESTS_PER_SECOND", None)
    else:
        os.environ["POWEROFFICE_REQUESTS_PER_SECOND"] = saved
    reset_services()


def _outlay_company(stack: LocalStack, employees: int) -> None:
    """`employees` employees in PowerOffice Go, each with one August trip with a toll, parking and a ferry."""
    answer = httpx.post(
        f"{stack.url}/emulators/poweroffice/_control/employees",
        json={
            "client_key": ACME_KEY,
            "employees": [
                {
                    "Id": 800000 + n,
                    "Number": 20000 + n,
                    "FirstName": "Ansatt",
                    "LastName": f"{n:05d}",
                    "IsArchived": False,
                }
                for n in range(employees)
            ],
        },
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    trips = [
        _trip(
            n,
            {"id": f"drv-{n:05d}", "external_id": str(20000 + n), "name": f"Ansatt {n:05d}"},
            1 + n % 28,
            41.3,
        )
        for n in range(employees)
    ]
    expenses = [
        {
            "trip_id": trip["id"],
            "expense": {"toll_charge": 47.5, "parking": 60.0, "ferry": 184.0},
            "extra": {},
        }
        for trip in trips
    ]
    stack.abax.add_data("acme", trips, expenses)


def _recovered(client: httpx.Client, export_id: str, action: str) -> dict[str, Any]:
    answer = client.post(f"/exports/{export_id}/{action}")
    assert answer.status_code == 202, answer.text
    return wait_for_export(client, export_id, timeout=120)


# Employees of the left-behind test, four lines each: 75 (300 lines, three times the LEFT_BEHIND_KEPT the record
# keeps, so a list that grew with the count would show in the record's size), 500 under `make test-full` (2,000
# lines, ~440 KB named with their reasons: a record that kept them all would break DynamoDB's 400 KB).
LEFT_BEHIND_EMPLOYEES = 500 if FULL else 75


def test_thousands_of_lines_left_in_go_are_named_without_outgrowing_the_record(
    fresh: LocalStack, acme: httpx.Client, fast_abax: None, fast_poweroffice: None
) -> None:
    _outlay_company(fresh, LEFT_BEHIND_EMPLOYEES)  # km, toll, parking and ferry each
    count = 4 * LEFT_BEHIND_EMPLOYEES
    record = wait_for_export(acme, start_export(acme, AUGUST), timeout=120)
    assert record["status"] == "COMPLETED" and record["lines_pushed"] == count, record.get("error")
    export_id = record["export_id"]
    created = sorted(line["Id"] for line in salary_lines(fresh))  # a fresh company: only this export's
    assert len(created) == count
    completed_bytes = _record_item_bytes("acme", export_id)

    # Every line is in a payroll: undoing the export is refused and changes nothing, naming every line.
    lock_all_lines(fresh)
    refused = _recovered(acme, export_id, "rollback")
    assert refused["status"] == "COMPLETED", refused.get("error")
    entry = refused["history"][-1]
    assert (
        entry["outcome"] == "REFUSED"
        and entry["left_behind_count"] == count
        and len(entry["left_behind"]) == 20
    )
    assert _record_item_bytes("acme", export_id) < DYNAMODB_ITEM_LIMIT

    # Released from the payroll, but Go refuses every delete: the rollback ends incomplete, every line named.
    httpx.post(f"{fresh.url}/emulators/poweroffice/_control/unlock", json={"all": True}, timeout=10)
    set_faults(
        fresh, [{"method": "DELETE", "path": "/SalaryLines", "nth": 1, "times": 10_000, "status": 400}]
    )
    incomplete = _recovered(acme, export_id, "rollback")
    assert incomplete["status"] == "ROLLBACK_INCOMPLETE", incomplete.get("error")
    rollback = incomplete["rollback"]
    assert rollback["left_behind_count"] == count and len(rollback["left_behind"]) == 100
    assert _record_item_bytes("acme", export_id) < DYNAMODB_ITEM_LIMIT
    # The record grew by the lines it names (20 + 100) and a little more, whatever the count: one that kept
    # every left-behind line would have grown by twice the count's worth (~250 bytes a line, 5 × the bound here).
    kept_bytes = len(json.dumps(entry["left_behind"] + rollback["left_behind"]).encode())
    assert _record_item_bytes("acme", export_id) - completed_bytes < 2 * kept_bytes
    left: list[dict[str, Any]] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        page = acme.get(f"/exports/{export_id}/left-behind", params={"offset": offset, "limit": 100}).json()
        left += page["left_behind"]
        offset = page["next_offset"]
        pages += 1
    assert pages == -(-count // 100)  # really paged
    assert sorted(line["salary_line_id"] for line in left) == created
    assert left[:100] == rollback["left_behind"]
