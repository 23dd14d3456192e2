"""Trips as this product sees them, whatever API they came from, and what each counts per category."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from .categories import Category
from .money import ZERO

OSLO = ZoneInfo("Europe/Oslo")

PRIVATE_VEHICLE = "Private"
BUSINESS_TRIP = "BusinessTrip"


@dataclass(frozen=True, slots=True)
class Driver:
    driver_id: str
    name: str
    employee_number: str | None  # ABAX driver.external_id: the "ansattnummer"


@dataclass(frozen=True, slots=True)
class TripExpenses:
    """Outlays in NOK. easy_park_corporate was paid by the employer and is never refunded."""

    parking: Decimal = ZERO
    easy_park_private: Decimal = ZERO
    easy_park_corporate: Decimal = ZERO
    toll_charge: Decimal = ZERO
    toll_road_admin: Decimal = ZERO
    ferry: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class TripExtras:
    """Supplement distances in km."""

    passenger_km: Decimal = ZERO
    passenger_names: tuple[str, ...] = ()
    trailer_km: Decimal = ZERO
    caravan_km: Decimal = ZERO
    bad_road_km: Decimal = ZERO
    heavy_load_km: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Trip:
    trip_id: str
    driver: Driver
    vehicle_id: str
    vehicle_class: str  # ABAX vehicle.commercial_class
    trip_class: str  # ABAX commercial_class of the trip
    started_at: datetime  # timezone-aware
    distance_km: Decimal
    purpose: str = ""
    expenses: TripExpenses = field(default_factory=TripExpenses)
    extras: TripExtras = field(default_factory=TripExtras)

    @property
    def date(self) -> date:
        """The payroll date: the start time in Norwegian local time."""
        return self.started_at.astimezone(OSLO).date()

    @property
    def month(self) -> str:
        return self.date.strftime("%Y-%m")

    @property
    def reimbursable(self) -> bool:
        """Only business trips in the employee's own (private) car earn allowance."""
        return self.vehicle_class == PRIVATE_VEHICLE and self.trip_class == BUSINESS_TRIP

    def quantities(self) -> dict[Category, Decimal]:
        """What this trip counts in each category (km, passenger-km or NOK); zero categories left out."""
        passengers = max(1, len(self.extras.passenger_names))
        counted = {
            Category.MILEAGE: self.distance_km,
            Category.PASSENGER: self.extras.passenger_km * passengers if self.extras.passenger_km else ZERO,
            Category.TRAILER: self.extras.trailer_km + self.extras.caravan_km,
            Category.FOREST_ROAD: self.extras.bad_road_km,
            Category.HEAVY_LOAD: self.extras.heavy_load_km,
            Category.TOLL: self.expenses.toll_charge + self.expenses.toll_road_admin,
            Category.PARKING: self.expenses.parking + self.expenses.easy_park_private,
            Category.FERRY: self.expenses.ferry,
        }
        return {category: value for category, value in counted.items() if value}


def split_passenger_names(raw: str | None) -> tuple[str, ...]:
    """ABAX gives passengers as one comma-separated string."""
    if not raw:
        return ()
    return tuple(name.strip() for name in raw.split(",") if name.strip())
