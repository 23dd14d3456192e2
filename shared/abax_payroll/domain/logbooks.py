"""Logbooks ("kjørebøker"): one driver's business trips in one private vehicle in one calendar month."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .categories import Category
from .money import ZERO
from .period import Period
from .trips import Driver, Trip


@dataclass(frozen=True, slots=True)
class Logbook:
    logbook_id: str  # {driver_id}:{vehicle_id}:{YYYY-MM}
    driver: Driver
    vehicle_id: str
    month: str
    trips: tuple[Trip, ...]

    @property
    def km(self) -> Decimal:
        return sum((trip.distance_km for trip in self.trips), ZERO)

    @property
    def vehicle_alias(self) -> str:
        """The car's ABAX alias (the last one given in the month), else its id: never shown as a key."""
        for trip in reversed(self.trips):
            if trip.vehicle_alias:
                return trip.vehicle_alias
        return ""

    def facts(self) -> dict[str, str]:
        """What a person recognises a logbook by: driver, car and month (the id stays for programs)."""
        return {
            "logbook_id": self.logbook_id,
            "driver_name": self.driver.name,
            "vehicle_alias": self.vehicle_alias,
            "month": self.month,
        }

    def totals(self) -> dict[Category, Decimal]:
        totals: dict[Category, Decimal] = defaultdict(lambda: ZERO)
        for trip in self.trips:
            for category, quantity in trip.quantities().items():
                totals[category] += quantity
        return dict(totals)


def logbook_id_for(trip: Trip) -> str:
    return f"{trip.driver.driver_id}:{trip.vehicle_id}:{trip.month}"


def build_logbooks(trips: Iterable[Trip], period: Period) -> list[Logbook]:
    """Reimbursable trips whose Oslo start date falls in the period, grouped into logbooks.

    A logbook only partly inside the period contributes only the trips inside it.
    Ordered by logbook id, trips by start time, so the result never depends on the order of input.
    """
    grouped: dict[str, list[Trip]] = defaultdict(list)
    for trip in trips:
        if trip.reimbursable and trip.date in period:
            grouped[logbook_id_for(trip)].append(trip)
    logbooks = []
    for logbook_id in sorted(grouped):
        members = sorted(grouped[logbook_id], key=lambda trip: (trip.started_at, trip.trip_id))
        first = members[0]
        logbooks.append(
            Logbook(
                logbook_id=logbook_id,
                driver=first.driver,
                vehicle_id=first.vehicle_id,
                month=first.month,
                trips=tuple(members),
            )
        )
    return logbooks
