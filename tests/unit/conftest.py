"""Fixtures for the unit tests of the payroll domain and the ABAX adapter: trip builders and a small company."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from abax_payroll.domain.categories import Category
from abax_payroll.domain.payroll import Employee, PayItem
from abax_payroll.domain.trips import Driver, Trip, TripExpenses, TripExtras

OLA = Driver("d-1001", "Ola Nordmann", "1001")
KARI = Driver("d-1002", "Kari Hansen", "1002")
NILS = Driver("d-1004", "Nils Bakke", None)
LISE = Driver("d-1099", "Lise Moe", "1099")


def build_trip(
    trip_id: str,
    *,
    driver: Driver = OLA,
    started: str = "2026-10-02T07:31:00Z",
    km: str = "10",
    vehicle_id: str = "v-1",
    vehicle_class: str = "Private",
    trip_class: str = "BusinessTrip",
    expenses: dict[str, str] | None = None,
    extras: dict[str, Any] | None = None,
    purpose: str = "Kundemøte",
    start_address: str = "Karl Johans gate 1, 0154 Oslo",
    end_address: str = "Storgata 5, 3015 Drammen",
    vehicle_alias: str = "",
) -> Trip:
    """A documented trip (purpose, start and end place) unless told otherwise: undocumented ones are taxable."""
    extra_values = {
        key: Decimal(value) if key != "passenger_names" else value for key, value in (extras or {}).items()
    }
    return Trip(
        trip_id=trip_id,
        driver=driver,
        vehicle_id=vehicle_id,
        vehicle_class=vehicle_class,
        trip_class=trip_class,
        started_at=datetime.fromisoformat(started),
        distance_km=Decimal(km),
        expenses=TripExpenses(**{key: Decimal(value) for key, value in (expenses or {}).items()}),
        extras=TripExtras(**extra_values),
        purpose=purpose,
        start_address=start_address,
        end_address=end_address,
        vehicle_alias=vehicle_alias,
    )


@pytest.fixture(scope="session")
def domain_trip() -> Callable[..., Trip]:
    """Builds a domain trip from strings: `domain_trip("t-1", km="12.5", expenses={"ferry": "184"})`."""
    return build_trip


@pytest.fixture(scope="session")
def domain_drivers() -> dict[str, Driver]:
    return {"ola": OLA, "kari": KARI, "nils": NILS, "lise": LISE}


@pytest.fixture(scope="session")
def domain_employees() -> dict[str, Employee]:
    """PowerOffice Go employees of the demo company: 1099 (Lise) is not among them."""
    return {
        "1001": Employee(1, "1001", "Ola Nordmann"),
        "1002": Employee(2, "1002", "Kari Hansen"),
        "1003": Employee(3, "1003", "Per Olsen"),
    }


@pytest.fixture(scope="session")
def domain_pay_items() -> dict[str, PayItem]:
    return {
        "710": PayItem("p-710", "710", "Bilgodtgjørelse", True, "QuantityAndRateSubjectToWithholdingTax"),
        "711": PayItem("p-711", "711", "Tillegg bil", True, "QuantityAndRate"),
        "720": PayItem("p-720", "720", "Utlegg bom og parkering", True, "ExpenseRefund"),
        "722": PayItem("p-722", "722", "Ferje", True, "ExpenseRefund"),
        "790": PayItem("p-790", "790", "Gammel lønnsart", False, "ExpenseRefund"),
    }


@pytest.fixture(scope="session")
def domain_codes() -> dict[Category, str | None]:
    """Every category mapped; supplements share 711 and tolls share 720 with parking."""
    return {
        Category.MILEAGE: "710",
        Category.PASSENGER: "711",
        Category.TRAILER: "711",
        Category.FOREST_ROAD: "711",
        Category.HEAVY_LOAD: "711",
        Category.TOLL: "720",
        Category.PARKING: "720",
        Category.FERRY: "722",
    }
