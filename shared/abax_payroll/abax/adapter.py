"""The one place that knows ABAX field names and units: raw trips and expenses in, domain trips out."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..domain.money import ZERO, to_decimal
from ..domain.period import Period
from ..domain.problems import INVALID_TRIP_DATA, Problem
from ..domain.trips import (
    BUSINESS_TRIP,
    OSLO,
    PRIVATE_VEHICLE,
    Driver,
    Trip,
    TripExpenses,
    TripExtras,
    split_passenger_names,
)

if TYPE_CHECKING:
    from .client import AbaxClient

# A car does not cover more than this in one trip: anything above is a unit or logging error.
MAX_TRIP_KM = Decimal("2000")
# The client asks ABAX for one extra day on each side of the period (ABAX's day boundaries are not
# Oslo's), so trips up to this far outside the period are expected and dropped without a word.
EDGE_TOLERANCE = timedelta(days=1)

# ABAX expense field -> TripExpenses field (NOK).
EXPENSE_FIELDS = (
    ("parking", "parking"),
    ("easy_park_private", "easy_park_private"),
    ("easy_park_corporate", "easy_park_corporate"),
    ("toll_charge", "toll_charge"),
    ("toll_road_admin", "toll_road_admin"),
    ("ferry", "ferry"),
)
# ABAX extra field -> TripExtras field (km). Canteen and dog supplements have no category here.
EXTRA_KM_FIELDS = (
    ("distance_with_passenger_in_km", "passenger_km"),
    ("distance_with_trailer_in_km", "trailer_km"),
    ("distance_with_caravan_in_km", "caravan_km"),
    ("distance_with_bad_road_in_km", "bad_road_km"),
    ("distance_with_heavy_load_in_km", "heavy_load_km"),
)

# Reasons, fixed strings so that callers and tests can rely on them.
MISSING_ID = "missing trip id"
DUPLICATE_TRIP = "duplicate trip id"
OUTSIDE_PERIOD = "outside the requested period"
UNKNOWN_TRIP_EXPENSE = "expense for unknown trip"
DUPLICATE_EXPENSE = "duplicate expense record"
MISSING_VEHICLE = "missing vehicle"
MISSING_DRIVER = "missing driver"
MISSING_DRIVER_ID = "missing driver id"
MISSING_START = "missing start timestamp"
BAD_START = "start timestamp is not an ISO date-time"
MISSING_VALUE = "missing"
NOT_A_NUMBER = "not a finite number"
NEGATIVE_DISTANCE = "negative distance"
NEGATIVE_AMOUNT = "negative amount"
ABSURD_DISTANCE = f"absurd distance (more than {MAX_TRIP_KM} km in one trip)"
NOT_TEXT = "not text"
# The same reasons as stable codes, for a client that writes the sentence in its user's language.
REASON_CODES = {
    MISSING_ID: "MISSING_TRIP_ID",
    DUPLICATE_TRIP: "DUPLICATE_TRIP",
    OUTSIDE_PERIOD: "OUTSIDE_PERIOD",
    UNKNOWN_TRIP_EXPENSE: "EXPENSE_FOR_UNKNOWN_TRIP",
    DUPLICATE_EXPENSE: "DUPLICATE_EXPENSE",
    MISSING_VEHICLE: "MISSING_VEHICLE",
    MISSING_DRIVER: "MISSING_DRIVER",
    MISSING_DRIVER_ID: "MISSING_DRIVER_ID",
    MISSING_START: "MISSING_START",
    BAD_START: "BAD_START",
    MISSING_VALUE: "MISSING_VALUE",
    NOT_A_NUMBER: "NOT_A_NUMBER",
    NEGATIVE_DISTANCE: "NEGATIVE_DISTANCE",
    NEGATIVE_AMOUNT: "NEGATIVE_AMOUNT",
    ABSURD_DISTANCE: "ABSURD_DISTANCE",
    NOT_TEXT: "NOT_TEXT",
    "expense is not an object": "NOT_AN_OBJECT",
    "extra is not an object": "NOT_AN_OBJECT",
}

NO_EXPENSES = TripExpenses()
NO_EXTRAS = TripExtras()
# JSON repeats the same numbers and passenger lists a lot; both caches hold immutable values only.
_DECIMAL_CACHE: dict[Any, Decimal] = {}
_PASSENGER_CACHE: dict[str, tuple[str, ...]] = {}


@dataclass
class TripBatch:
    trips: list[Trip]
    problems: list[Problem] = field(default_factory=list)


class _BadValue(Exception):
    def __init__(self, value: Any, reason: str):
        self.value = value
        self.reason = reason


def fetch_trips(client: AbaxClient, period: Period) -> TripBatch:
    """Trips of the period and the expenses of those that can be paid, mapped to domain trips."""
    raw_trips = client.trips(period)
    wanted = reimbursable_trip_ids(raw_trips, period)
    raw_expenses = client.expenses(wanted) if wanted else []
    return to_trips(raw_trips, raw_expenses, period)


def reimbursable_trip_ids(raw_trips: Iterable[Mapping[str, Any]], period: Period) -> list[str]:
    """Ids of business trips in private cars starting (Oslo date) in the period: the only expenses we need."""
    ids: dict[str, None] = {}
    for raw in raw_trips:
        if not isinstance(raw, dict) or not _is_reimbursable(raw):
            continue
        trip_id = raw.get("id")
        if trip_id is None or trip_id == "":
            continue
        started = _started_at(raw)
        if started is None or started.astimezone(OSLO).date() in period:
            # Without a usable start we cannot tell; fetch its expenses so the report is complete.
            ids[str(trip_id)] = None
    return list(ids)


def to_trips(
    raw_trips: Iterable[Mapping[str, Any]], raw_expenses: Iterable[Mapping[str, Any]], period: Period
) -> TripBatch:
    """Map ABAX trips and expenses to domain trips; report, never drop silently, what cannot be paid."""
    mapper = TripMapper(period)
    mapper.add(raw_trips, raw_expenses)
    return mapper.batch()


class TripMapper:
    """Domain trips from ABAX pages fed one at a time (a page's trips with the expenses fetched for them),
    so a month of 300,000 trips is never held as raw JSON at once.

    Non-reimbursable trips (not a business trip in a private car) never reach a salary line, so broken
    fields on them cannot cause a wrong payment: they are left out quietly instead of blocking the export.
    """

    def __init__(self, period: Period) -> None:
        self._period = period
        self._low = period.start - EDGE_TOLERANCE
        self._high = period.end + EDGE_TOLERANCE
        self._first_instant = datetime.combine(period.start, time.min, OSLO)
        self._end_instant = datetime.combine(period.end + timedelta(days=1), time.min, OSLO)
        self._drivers: dict[tuple[Any, Any, Any], Driver] = {}
        self._known_ids: set[str] = set()
        self._bad: list[dict[str, str]] = []
        self.trips: list[Trip] = []

    def add(self, raw_trips: Iterable[Mapping[str, Any]], raw_expenses: Iterable[Mapping[str, Any]]) -> None:
        """One page: its expenses belong to its trips (or to trips of earlier pages)."""
        bad = self._bad
        period = self._period
        known_ids = self._known_ids
        expenses_by_trip: dict[str, Mapping[str, Any]] = {}
        for raw in raw_expenses:
            trip_id = raw.get("trip_id") if isinstance(raw, dict) else None
            if trip_id is None or trip_id == "":
                bad.append(_item("", "trip_id", trip_id, "expense record without a trip id"))
                continue
            key = str(trip_id)
            if key in expenses_by_trip:
                bad.append(_item(key, "trip_id", trip_id, DUPLICATE_EXPENSE))
                continue
            expenses_by_trip[key] = raw

        for raw in raw_trips:
            if not isinstance(raw, dict):
                bad.append(_item("", "trip", raw, "trip record is not an object"))
                continue
            reimbursable = _is_reimbursable(raw)
            raw_id = raw.get("id")
            if raw_id is None or raw_id == "":
                if reimbursable:
                    bad.append(_item("", "id", raw_id, MISSING_ID))
                continue
            trip_id = raw_id if type(raw_id) is str else str(raw_id)
            started_at = _started_at(raw)
            # Comparing instants avoids a time-zone conversion per trip; only trips outside need their date.
            if started_at is not None and not self._first_instant <= started_at < self._end_instant:
                day = started_at.astimezone(OSLO).date()
                if day not in period:
                    known_ids.add(trip_id)
                    # The client's extra edge days bring trips just outside the period: expected, not an error.
                    if reimbursable and not self._low <= day <= self._high:
                        bad.append(
                            _item(trip_id, "start.location.timestamp", raw_timestamp(raw), OUTSIDE_PERIOD)
                        )
                    continue
            if trip_id in known_ids:
                if reimbursable:
                    bad.append(_item(trip_id, "id", trip_id, DUPLICATE_TRIP))
                continue
            known_ids.add(trip_id)
            errors: list[dict[str, str]] = []
            trip = _map_trip(trip_id, raw, started_at, expenses_by_trip.get(trip_id), self._drivers, errors)
            if trip is None:
                if reimbursable:
                    bad.extend(errors)
                continue
            self.trips.append(trip)

        for trip_id in expenses_by_trip:
            if trip_id not in known_ids:
                bad.append(_item(trip_id, "trip_id", trip_id, UNKNOWN_TRIP_EXPENSE))

    def batch(self) -> TripBatch:
        return TripBatch(trips=self.trips, problems=[_problem(self._bad)] if self._bad else [])


def _is_reimbursable(raw: Mapping[str, Any]) -> bool:
    vehicle = raw.get("vehicle")
    if raw.get("commercial_class") != BUSINESS_TRIP:
        return False
    # A business trip whose vehicle is missing might be in a private car: treat it as one that matters.
    if not isinstance(vehicle, dict):
        return True
    return vehicle.get("commercial_class") == PRIVATE_VEHICLE


def _map_trip(
    trip_id: str,
    raw: Mapping[str, Any],
    started_at: datetime | None,
    expense_record: Mapping[str, Any] | None,
    drivers: dict[tuple[Any, Any, Any], Driver],
    errors: list[dict[str, str]],
) -> Trip | None:
    """The domain trip, or None with every reason appended to errors (all fields checked, not just the first)."""
    vehicle = raw.get("vehicle")
    vehicle_id: Any = None
    vehicle_class = ""
    vehicle_alias: Any = ""
    if isinstance(vehicle, dict):
        vehicle_id = vehicle.get("id")
        vehicle_class = vehicle.get("commercial_class") or ""
        vehicle_alias = vehicle.get("alias") or ""
    if vehicle_id is None or vehicle_id == "":
        errors.append(_item(trip_id, "vehicle.id", vehicle_id, MISSING_VEHICLE))

    driver = _driver(trip_id, raw.get("driver"), drivers, errors)
    if started_at is None:
        value = raw_timestamp(raw)
        reason = MISSING_START if value is None else BAD_START
        errors.append(_item(trip_id, "start.location.timestamp", value, reason))

    distance = _km(trip_id, "distance", raw.get("distance"), errors, required=True)
    expenses, extras = NO_EXPENSES, NO_EXTRAS
    if expense_record is not None:
        expenses, extras = _expenses(trip_id, expense_record, errors)

    if errors or driver is None or started_at is None or distance is None:
        return None
    purpose, notes = raw.get("purpose"), raw.get("notes")
    return Trip(
        trip_id=trip_id,
        driver=driver,
        vehicle_id=vehicle_id if type(vehicle_id) is str else str(vehicle_id),
        vehicle_class=vehicle_class,
        trip_class=raw.get("commercial_class") or "",
        started_at=started_at,
        distance_km=distance,
        purpose=purpose if isinstance(purpose, str) else "",
        start_address=_address(raw.get("start")),
        end_address=_address(raw.get("finish")),
        expenses=expenses,
        extras=extras,
        vehicle_alias=vehicle_alias if isinstance(vehicle_alias, str) else "",
        notes=notes if isinstance(notes, str) else "",
        ended_at=_started_at(raw, "finish"),
    )


def _address(end: Any) -> str:
    """A trip end's street address (start.address / finish.address), for the documentation report."""
    address = end.get("address") if isinstance(end, dict) else None
    return address if isinstance(address, str) else ""


def raw_timestamp(raw: Mapping[str, Any]) -> Any:
    start = raw.get("start")
    location = start.get("location") if isinstance(start, dict) else None
    return location.get("timestamp") if isinstance(location, dict) else None


def _driver(
    trip_id: str, raw: Any, drivers: dict[tuple[Any, Any, Any], Driver], errors: list[dict[str, str]]
) -> Driver | None:
    if not isinstance(raw, dict):
        errors.append(_item(trip_id, "driver", raw, MISSING_DRIVER))
        return None
    driver_id = raw.get("id")
    name = raw.get("name")
    external_id = raw.get("external_id")
    key = (driver_id, name, external_id)
    try:
        return drivers[key]
    except (KeyError, TypeError):
        pass
    if driver_id is None or driver_id == "" or isinstance(driver_id, dict | list):
        errors.append(_item(trip_id, "driver.id", driver_id, MISSING_DRIVER_ID))
        return None
    number = str(external_id).strip() if external_id is not None else ""
    driver = Driver(
        driver_id=str(driver_id),
        name=name.strip() if isinstance(name, str) and name.strip() else str(driver_id),
        employee_number=number or None,
    )
    with contextlib.suppress(TypeError):  # an unhashable name or number: just not cached
        drivers[key] = driver
    return driver


def _started_at(raw: Mapping[str, Any], end: str = "start") -> datetime | None:
    """When the trip started (or, with end="finish", arrived), from `<end>.location.timestamp`."""
    start = raw.get(end)
    if not isinstance(start, dict):
        return None
    location = start.get("location")
    if not isinstance(location, dict):
        return None
    value = location.get("timestamp")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        # ABAX trip timestamps are UTC; a missing suffix does not change that.
        moment = moment.replace(tzinfo=UTC)
    return moment


def _number(value: Any) -> Decimal:
    """Decimal from a JSON number; raises _BadValue for anything that is not a finite number."""
    kind = type(value)
    if kind is int or kind is float:
        cached = _DECIMAL_CACHE.get(value)
        if cached is not None:
            return cached
    try:
        result = to_decimal(value)
    except ValueError as error:
        raise _BadValue(value, NOT_A_NUMBER) from error
    if (kind is int or kind is float) and len(_DECIMAL_CACHE) < 100_000:
        _DECIMAL_CACHE[value] = result
    return result


def _km(
    trip_id: str, name: str, value: Any, errors: list[dict[str, str]], *, required: bool = False
) -> Decimal | None:
    if value is None:
        if required:
            errors.append(_item(trip_id, name, value, MISSING_VALUE))
            return None
        return ZERO
    try:
        km = _number(value)
    except _BadValue as bad:
        errors.append(_item(trip_id, name, value, bad.reason))
        return None
    if km < 0:
        errors.append(_item(trip_id, name, value, NEGATIVE_DISTANCE))
        return None
    if km > MAX_TRIP_KM:
        errors.append(_item(trip_id, name, value, ABSURD_DISTANCE))
        return None
    return km


def _expenses(
    trip_id: str, record: Mapping[str, Any], errors: list[dict[str, str]]
) -> tuple[TripExpenses, TripExtras]:
    expenses, extras = NO_EXPENSES, NO_EXTRAS
    raw_expense = record.get("expense")
    if isinstance(raw_expense, dict):
        amounts: dict[str, Decimal] = {}
        for abax_name, ours in EXPENSE_FIELDS:
            value = raw_expense.get(abax_name)
            if value is None or value == 0:
                continue
            try:
                amount = _number(value)
            except _BadValue as bad:
                errors.append(_item(trip_id, f"expense.{abax_name}", value, bad.reason))
                continue
            if amount < 0:
                errors.append(_item(trip_id, f"expense.{abax_name}", value, NEGATIVE_AMOUNT))
                continue
            if amount:
                amounts[ours] = amount
        if amounts:
            expenses = TripExpenses(**amounts)
    elif raw_expense is not None:
        errors.append(_item(trip_id, "expense", raw_expense, "expense is not an object"))

    raw_extra = record.get("extra")
    if isinstance(raw_extra, dict):
        supplements: dict[str, Any] = {}
        for abax_name, ours in EXTRA_KM_FIELDS:
            value = raw_extra.get(abax_name)
            if value is None or value == 0:
                continue
            km = _km(trip_id, f"extra.{abax_name}", value, errors)
            if km:
                supplements[ours] = km
        names = raw_extra.get("passenger_name")
        if names is not None and not isinstance(names, str):
            errors.append(_item(trip_id, "extra.passenger_name", names, NOT_TEXT))
        elif names:
            passengers = _PASSENGER_CACHE.get(names)
            if passengers is None:
                passengers = split_passenger_names(names)
                if len(_PASSENGER_CACHE) < 10_000:
                    _PASSENGER_CACHE[names] = passengers
            if passengers:
                supplements["passenger_names"] = passengers
        if supplements:
            extras = TripExtras(**supplements)
    elif raw_extra is not None:
        errors.append(_item(trip_id, "extra", raw_extra, "extra is not an object"))
    return expenses, extras


def _item(trip_id: str, name: str, value: Any, reason: str) -> dict[str, str]:
    text = "" if value is None else str(value)
    if len(text) > 120:
        text = text[:117] + "..."
    return {"trip_id": trip_id, "field": name, "value": text, "reason": reason}


def _problem(items: list[dict[str, str]]) -> Problem:
    trips = len({item["trip_id"] for item in items})
    reasons = Counter(item["reason"] for item in items)
    summary = "; ".join(f"{reason}: {count}" for reason, count in reasons.most_common())
    return Problem(
        INVALID_TRIP_DATA,
        f"ABAX returned trip data that cannot be paid ({len(items)} findings on {trips} trips: {summary}). "
        "The trips concerned are left out; correct them in ABAX and search again.",
        [{**item, "reason_code": REASON_CODES.get(item["reason"], "OTHER")} for item in items],
        params={"findings": len(items), "trips": trips},
    )
