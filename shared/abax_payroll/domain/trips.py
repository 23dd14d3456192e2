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
UNKNOWN_VEHICLE = (
    "Unknown"  # ABAX has no class for the car: it may be private, so it is never left out silently
)
BUSINESS_TRIP = "BusinessTrip"
# What the travel claim must hold for the allowance to be tax-free (Altinn "Krav til reiserekning"; Skatte-ABC
# A-13-3.7.1): a purpose and a route with a start and an end. ABAX's GPS logbook gives date, times and distance.
PURPOSE, START_PLACE, END_PLACE = "purpose", "start_address", "end_address"


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
    start_address: str = ""
    end_address: str = ""
    expenses: TripExpenses = field(default_factory=TripExpenses)
    extras: TripExtras = field(default_factory=TripExtras)
    vehicle_alias: str = ""  # ABAX vehicle.alias: what people call the car ("Olas Golf")
    notes: str = ""  # ABAX notes: who was visited, for the documentation report
    ended_at: datetime | None = None  # arrival (finish.location.timestamp), timezone-aware

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

    def quantities(self, per_passenger: bool = True) -> dict[Category, Decimal]:
        """What this trip counts in each category (km, passenger-km or NOK); zero categories left out.

        The passenger supplement counts passenger-km (km × passengers) or, when the company's rate table pays
        it per km whatever the number of passengers (`per_passenger` False), the km once.

        Supplements are bounded by the trip: no supplement covers more km than the trip drove, and trailer,
        caravan and heavy load are one equipment supplement ("utstyr og materiell"), paid at most once per
        driven km (trailer and caravan first, heavy load on the km left).
        """
        return {category: paid for category, (_, paid) in self._counted(per_passenger).items() if paid}

    def capped_supplements(self) -> list[tuple[Category, Decimal, Decimal]]:
        """(category, km claimed, km paid) for each supplement cut to the trip's distance."""
        return [
            (category, claimed, paid)
            for category, (claimed, paid) in self._supplement_km().items()
            if paid < claimed
        ]

    @property
    def in_unknown_vehicle(self) -> bool:
        """A business trip in a car ABAX has no class for: left out, but said so (VEHICLE_CLASS_UNKNOWN)."""
        return self.vehicle_class == UNKNOWN_VEHICLE and self.trip_class == BUSINESS_TRIP

    @property
    def missing_documentation(self) -> tuple[str, ...]:
        """What the travel claim lacks for the allowance to be tax-free: purpose, start place, end place."""
        given = {PURPOSE: self.purpose, START_PLACE: self.start_address, END_PLACE: self.end_address}
        return tuple(name for name, value in given.items() if not value.strip())

    @property
    def passenger_count(self) -> int:
        """Passengers on the passenger km: the names given, at least one."""
        return max(1, len(self.extras.passenger_names))

    @property
    def passengers_unnamed(self) -> bool:
        """Passenger km claimed without the passengers' names, which the travel claim must hold."""
        return bool(self.extras.passenger_km) and not self.extras.passenger_names

    def _supplement_km(self) -> dict[Category, tuple[Decimal, Decimal]]:
        """Claimed and paid km per supplement (passenger km per passenger)."""
        distance = max(self.distance_km, ZERO)
        extras = self.extras
        equipment = extras.trailer_km + extras.caravan_km
        trailer_paid = min(equipment, distance)
        return {
            Category.PASSENGER: (extras.passenger_km, min(extras.passenger_km, distance)),
            Category.TRAILER: (equipment, trailer_paid),
            Category.HEAVY_LOAD: (extras.heavy_load_km, min(extras.heavy_load_km, distance - trailer_paid)),
            Category.FOREST_ROAD: (extras.bad_road_km, min(extras.bad_road_km, distance)),
        }

    def _counted(self, per_passenger: bool = True) -> dict[Category, tuple[Decimal, Decimal]]:
        passengers = self.passenger_count if per_passenger else 1
        supplements = self._supplement_km()
        claimed_pkm, paid_pkm = supplements[Category.PASSENGER]
        counted = {
            Category.MILEAGE: (self.distance_km, self.distance_km),
            Category.PASSENGER: (claimed_pkm * passengers, paid_pkm * passengers if paid_pkm else ZERO),
            Category.TRAILER: supplements[Category.TRAILER],
            Category.FOREST_ROAD: supplements[Category.FOREST_ROAD],
            Category.HEAVY_LOAD: supplements[Category.HEAVY_LOAD],
            Category.TOLL: (self.expenses.toll_charge + self.expenses.toll_road_admin,) * 2,
            Category.PARKING: (self.expenses.parking + self.expenses.easy_park_private,) * 2,
            Category.FERRY: (self.expenses.ferry,) * 2,
        }
        return counted  # type: ignore[return-value]


def split_passenger_names(raw: str | None) -> tuple[str, ...]:
    """ABAX gives passengers as one comma-separated string."""
    if not raw:
        return ()
    return tuple(name.strip() for name in raw.split(",") if name.strip())
