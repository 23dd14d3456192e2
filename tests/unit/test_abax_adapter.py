"""The ABAX adapter: field mapping, every kind of broken data reported in one problem, and speed."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from abax_payroll.abax import to_trips
from abax_payroll.abax.adapter import REASON_CODES, reimbursable_trip_ids
from abax_payroll.domain.categories import Category
from abax_payroll.domain.period import Period
from abax_payroll.domain.problems import INVALID_TRIP_DATA

OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


def abax_trip(trip_id: str = "t-1", **changes: Any) -> dict[str, Any]:
    trip: dict[str, Any] = {
        "id": trip_id,
        "vehicle": {"id": "v-9", "alias": "Olas Golf", "commercial_class": "Private"},
        "driver": {
            "id": "d-7",
            "external_id": " 1001 ",
            "name": "Ola Nordmann",
            "phone_number": "+47 4000",
            "email": "o@x.no",
        },
        "start": {
            "location": {
                "latitude": 59.91,
                "longitude": 10.75,
                "timestamp": "2026-10-02T07:31:00Z",
                "signal_source": "Gps",
            },
            "address": "Karl Johans gate 1, Oslo",
        },
        "finish": {
            "location": {
                "latitude": 59.13,
                "longitude": 10.21,
                "timestamp": "2026-10-02T09:02:00Z",
                "signal_source": "Gps",
            },
            "address": "Torget 2, Sandefjord",
        },
        "distance": 118.4,
        "purpose": "Kundemøte",
        "notes": "",
        "duration": 5460,
        "commercial_class": "BusinessTrip",
        "source": "Automatic",
    }
    for path, value in changes.items():
        target = trip
        *parents, last = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return trip


DELETE = object()


def abax_expense(
    trip_id: str = "t-1", expense: dict | None = None, extra: dict | None = None
) -> dict[str, Any]:
    return {"trip_id": trip_id, "expense": expense or {}, "extra": extra or {}}


def only_problem(batch):
    assert len(batch.problems) == 1
    problem = batch.problems[0]
    assert problem.code == INVALID_TRIP_DATA
    return problem


# ---- mapping ------------------------------------------------------------------------------------------


def test_a_trip_and_its_expenses_become_a_domain_trip():
    expense = abax_expense(
        expense={
            "parking": 90,
            "easy_park_private": 35.5,
            "easy_park_corporate": 120.0,
            "toll_road_admin": 4.5,
            "toll_charge": 112.0,
            "ferry": None,
        },
        extra={
            "distance_with_passenger_in_km": 118.4,
            "passenger_name": "Kari Hansen, Per Olsen",
            "distance_with_trailer_in_km": 10,
            "distance_with_caravan_in_km": 0.1,
            "distance_with_bad_road_in_km": 7.4,
            "distance_with_heavy_load_in_km": 0,
            "distance_with_dog_in_km": 3,
        },
    )
    batch = to_trips([abax_trip()], [expense], OCTOBER)
    assert batch.problems == []
    (trip,) = batch.trips
    assert trip.trip_id == "t-1"
    assert (trip.driver.driver_id, trip.driver.name, trip.driver.employee_number) == (
        "d-7",
        "Ola Nordmann",
        "1001",
    )
    assert (trip.vehicle_id, trip.vehicle_class, trip.trip_class) == ("v-9", "Private", "BusinessTrip")
    assert trip.started_at == datetime(2026, 10, 2, 7, 31, tzinfo=UTC)
    assert trip.distance_km == Decimal("118.4")  # via str, not the float's binary expansion
    assert trip.purpose == "Kundemøte"
    assert trip.extras.passenger_names == ("Kari Hansen", "Per Olsen")
    assert trip.quantities() == {
        Category.MILEAGE: Decimal("118.4"),
        Category.PASSENGER: Decimal("236.8"),
        Category.TRAILER: Decimal("10.1"),
        Category.FOREST_ROAD: Decimal("7.4"),
        Category.TOLL: Decimal("116.5"),
        Category.PARKING: Decimal("125.5"),
    }


@pytest.mark.parametrize("external_id", [None, "", "   "])
def test_a_driver_without_external_id_has_no_employee_number(external_id):
    (trip,) = to_trips([abax_trip(driver__external_id=external_id)], [], OCTOBER).trips
    assert trip.driver.employee_number is None


def test_numeric_external_id_and_trip_id_are_read_as_text():
    (trip,) = to_trips([abax_trip(7, driver__external_id=1001)], [], OCTOBER).trips
    assert (trip.trip_id, trip.driver.employee_number) == ("7", "1001")


def test_non_reimbursable_trips_are_kept_but_never_block():
    trips = [
        abax_trip("t-company", vehicle__commercial_class="Company"),
        abax_trip("t-private", commercial_class="PrivateTrip"),
        abax_trip("t-broken-company", vehicle__commercial_class="Company", distance=-5),
        abax_trip("t-broken-commute", commercial_class="Commute", driver=None),
    ]
    batch = to_trips(trips, [], OCTOBER)
    # Never paid, so broken fields on them cannot cause a wrong payment: left out without a problem.
    assert batch.problems == []
    assert [trip.trip_id for trip in batch.trips] == ["t-company", "t-private"]
    assert not any(trip.reimbursable for trip in batch.trips)


def test_expenses_are_fetched_only_for_payable_trips_in_the_period():
    trips = [
        abax_trip("t-1"),
        abax_trip("t-company", vehicle__commercial_class="Company"),
        abax_trip("t-nov", start__location__timestamp="2026-10-31T23:30:00Z"),
        abax_trip("t-1"),
    ]
    assert reimbursable_trip_ids(trips, OCTOBER) == ["t-1"]


def test_the_oslo_date_decides_and_edge_days_are_dropped_quietly():
    trips = [
        abax_trip("t-oct-1", start__location__timestamp="2026-09-30T22:45:00Z"),  # 1 Oct 00:45 in Oslo
        abax_trip("t-nov-1", start__location__timestamp="2026-10-31T23:30:00Z"),  # 1 Nov 00:30 in Oslo
        abax_trip("t-sep-30", start__location__timestamp="2026-09-30T12:00:00Z"),
    ]
    batch = to_trips(trips, [], OCTOBER)
    # The client asks ABAX for one day extra at each end, so 30 Sep and 1 Nov are expected, not errors.
    assert batch.problems == []
    assert [trip.trip_id for trip in batch.trips] == ["t-oct-1"]


# ---- broken data ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "value", "reason"),
    [
        ({"distance": -5}, "distance", "-5", "negative distance"),
        ({"distance": 2500.5}, "distance", "2500.5", "absurd distance (more than 2000 km in one trip)"),
        ({"distance": float("nan")}, "distance", "nan", "not a finite number"),
        ({"distance": float("inf")}, "distance", "inf", "not a finite number"),
        ({"distance": "far"}, "distance", "far", "not a finite number"),
        ({"distance": True}, "distance", "True", "not a finite number"),
        ({"distance": DELETE}, "distance", "", "missing"),
        ({"driver": None}, "driver", "", "missing driver"),
        ({"driver__id": ""}, "driver.id", "", "missing driver id"),
        ({"start__location__timestamp": DELETE}, "start.location.timestamp", "", "missing start timestamp"),
        ({"start": None}, "start.location.timestamp", "", "missing start timestamp"),
        (
            {"start__location__timestamp": "yesterday"},
            "start.location.timestamp",
            "yesterday",
            "start timestamp is not an ISO date-time",
        ),
        (
            {"start__location__timestamp": "2026-08-01T08:00:00Z"},
            "start.location.timestamp",
            "2026-08-01T08:00:00Z",
            "outside the requested period",
        ),
        ({"vehicle__id": None}, "vehicle.id", "", "missing vehicle"),
    ],
)
def test_broken_trip_fields_are_reported_and_the_trip_left_out(changes, field, value, reason):
    batch = to_trips([abax_trip("t-bad", **changes), abax_trip("t-good")], [], OCTOBER)
    assert [trip.trip_id for trip in batch.trips] == ["t-good"]
    problem = only_problem(batch)
    (item,) = problem.items
    assert {key: item[key] for key in ("trip_id", "field", "value", "reason")} == {
        "trip_id": "t-bad",
        "field": field,
        "value": value,
        "reason": reason,
    }
    assert item["reason_code"] == REASON_CODES[reason]  # the same reason as a stable code
    assert "1 trips" in problem.message or "1 trip" in problem.message


@pytest.mark.parametrize(
    ("expense", "extra", "field", "reason"),
    [
        ({"toll_charge": -10}, {}, "expense.toll_charge", "negative amount"),
        ({"parking": "NaN"}, {}, "expense.parking", "not a finite number"),
        ({"ferry": float("inf")}, {}, "expense.ferry", "not a finite number"),
        ({}, {"distance_with_trailer_in_km": -1}, "extra.distance_with_trailer_in_km", "negative distance"),
        (
            {},
            {"distance_with_passenger_in_km": 5000},
            "extra.distance_with_passenger_in_km",
            "absurd distance (more than 2000 km in one trip)",
        ),
        ({}, {"passenger_name": ["Kari"]}, "extra.passenger_name", "not text"),
    ],
)
def test_broken_expenses_and_supplements_are_reported(expense, extra, field, reason):
    batch = to_trips([abax_trip("t-bad")], [abax_expense("t-bad", expense, extra)], OCTOBER)
    assert batch.trips == []
    (item,) = only_problem(batch).items
    assert (item["trip_id"], item["field"], item["reason"]) == ("t-bad", field, reason)


def test_duplicates_keep_the_first_and_report_the_rest():
    first = abax_trip("t-1", distance=10)
    batch = to_trips([first, abax_trip("t-1", distance=20), abax_trip("t-1", distance=30)], [], OCTOBER)
    assert [(trip.trip_id, trip.distance_km) for trip in batch.trips] == [("t-1", Decimal("10"))]
    assert [item["reason"] for item in only_problem(batch).items] == [
        "duplicate trip id",
        "duplicate trip id",
    ]


def test_expenses_for_unknown_trips_are_reported():
    batch = to_trips(
        [abax_trip("t-1")], [abax_expense("t-1"), abax_expense("t-404", {"ferry": 100})], OCTOBER
    )
    assert [trip.trip_id for trip in batch.trips] == ["t-1"]
    assert only_problem(batch).items == [
        {
            "trip_id": "t-404",
            "field": "trip_id",
            "value": "t-404",
            "reason": "expense for unknown trip",
            "reason_code": "EXPENSE_FOR_UNKNOWN_TRIP",
        }
    ]


def test_all_findings_land_in_one_problem_with_every_field_of_a_trip():
    trips = [
        abax_trip("t-a", distance=-1, driver=None),
        abax_trip("t-b", start__location__timestamp="nope"),
        abax_trip("t-b"),
        abax_trip("t-c", distance=float("nan")),
    ]
    batch = to_trips(trips, [abax_expense("t-x")], OCTOBER)
    assert batch.trips == []
    problem = only_problem(batch)
    assert [(item["trip_id"], item["field"]) for item in problem.items] == [
        ("t-a", "driver"),
        ("t-a", "distance"),
        ("t-b", "start.location.timestamp"),
        ("t-b", "id"),
        ("t-c", "distance"),
        ("t-x", "trip_id"),
    ]
    assert "6 findings on 4 trips" in problem.message
    assert all(isinstance(item["value"], str) for item in problem.items)


def test_garbage_records_never_crash():
    batch = to_trips(
        [None, "trip", 42, {}, {"id": "t-1", "commercial_class": "BusinessTrip"}],
        [None, {}, {"trip_id": None}],
        OCTOBER,
    )
    assert batch.trips == []
    reasons = [item["reason"] for item in only_problem(batch).items]
    assert reasons.count("expense record without a trip id") == 3
    assert "trip record is not an object" in reasons
    assert "missing start timestamp" in reasons  # the payable-looking trip without vehicle is reported


def test_the_input_is_not_modified():
    trips = [abax_trip("t-1")]
    expenses = [abax_expense("t-1", {"ferry": 184.0}, {"passenger_name": "Kari"})]
    before = copy.deepcopy((trips, expenses))
    to_trips(trips, expenses, OCTOBER)
    assert (trips, expenses) == before


def test_a_large_batch_keeps_every_trip_and_every_expense():
    # Speed is measured by `make bench` (CPU pipeline), not asserted here.
    template = abax_trip()
    trips = []
    expenses = []
    for n in range(20_000):
        trip = dict(template)
        trip["id"] = f"t-{n}"
        trip["driver"] = {
            "id": f"d-{n % 400}",
            "external_id": str(1000 + n % 400),
            "name": f"Driver {n % 400}",
        }
        trip["start"] = {
            "location": {"timestamp": f"2026-10-{1 + n % 28:02d}T{6 + n % 12:02d}:{n % 60:02d}:00Z"}
        }
        trip["distance"] = (n % 3000) / 10
        trips.append(trip)
        if n % 4 == 0:
            expenses.append(
                abax_expense(
                    f"t-{n}",
                    {"toll_charge": 42.0, "toll_road_admin": 4.5},
                    {"distance_with_passenger_in_km": 12.5, "passenger_name": "Kari Hansen"},
                )
            )
    batch = to_trips(trips, expenses, OCTOBER)
    assert len(batch.trips) == 20_000 and batch.problems == []
    with_toll = [trip for trip in batch.trips if trip.expenses.toll_charge]
    assert len(with_toll) == 5_000
