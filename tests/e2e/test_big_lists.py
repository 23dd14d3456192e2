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
from typing import Any

import boto3
import httpx
import pytest

from abax_payroll.workflow.services import reset_services
from local.aws import REGION, TABLE
from local.stack import LocalStack
from tests.support import export_and_wait, preview

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


def _all_items(client: httpx.Client, export_id: str, code: str, limit: int = 1000) -> list[dict[str, Any]]:
    """Every item of one problem, page by page as the web app reads them."""
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        response = client.get(
            f"/exports/{export_id}/problems/{code}", params={"offset": offset, "limit": limit}
        )
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

    searched = preview(acme, AUGUST)  # the search names them all too (no DynamoDB item in between)
    [found] = [problem for problem in searched["problems"] if problem["code"] == "EMPLOYEE_NUMBER_MISSING"]
    assert len(found["items"]) == 5000

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
