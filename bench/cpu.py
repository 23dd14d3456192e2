"""Figure 3: ABAX JSON -> domain trips -> logbooks + validation + salary lines, against json.loads of the same bytes."""

from __future__ import annotations

import gc
import json
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

PERIOD = ("2026-10-01", "2026-10-31")


def abax_json(drivers: int, trips_per_driver: int, seed: int = 6) -> bytes:
    """One month of a big ABAX organisation as the API returns it: trips and their expense records.

    Every driver drives their own car; a tenth of the trips are private, a third carry a toll, some
    parking, a ferry or a passenger, so every category and every validation path has work to do.
    """
    rng = random.Random(seed)
    start = datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    trips: list[dict[str, Any]] = []
    expenses: list[dict[str, Any]] = []
    for d in range(drivers):
        driver = {"id": f"drv-{d:05d}", "external_id": str(10000 + d), "name": f"Sjåfør {d:05d}"}
        vehicle = {"id": f"veh-{d:05d}", "alias": "Egen bil", "commercial_class": "Private"}
        for n in range(trips_per_driver):
            trip_id = f"{d:05d}-{n:04d}-7d1c-4a9e-b0f1-{rng.getrandbits(48):012x}"
            began = start + timedelta(minutes=rng.randrange(0, 31 * 24 * 60 - 120))
            trips.append(
                {
                    "id": trip_id,
                    "vehicle": vehicle,
                    "driver": driver,
                    "start": {
                        "location": {
                            "latitude": 59.91,
                            "longitude": 10.75,
                            "timestamp": began.isoformat().replace("+00:00", "Z"),
                        },
                        "address": "Karl Johans gate 1, Oslo",
                    },
                    "finish": {
                        "location": {
                            "latitude": 59.13,
                            "longitude": 10.22,
                            "timestamp": (began + timedelta(minutes=75)).isoformat().replace("+00:00", "Z"),
                        },
                        "address": "Sandefjord",
                    },
                    "distance": round(rng.uniform(3, 180), 1),
                    "purpose": "Kundebesøk",
                    "commercial_class": "BusinessTrip" if rng.random() > 0.1 else "PrivateTrip",
                }
            )
            expense: dict[str, Any] = {}
            extra: dict[str, Any] = {}
            if rng.random() < 0.33:
                expense["toll_charge"] = rng.choice([21.0, 35.0, 47.5, 61.0])
                expense["toll_road_admin"] = 2.5
            if rng.random() < 0.1:
                expense["parking"] = rng.choice([40.0, 60.0, 120.0])
            if rng.random() < 0.02:
                expense["ferry"] = 184.0
            if rng.random() < 0.05:
                extra["distance_with_passenger_in_km"] = round(rng.uniform(3, 60), 1)
                extra["passenger_name"] = (
                    "Kari Nordmann, Ola Nordmann" if rng.random() < 0.5 else "Kari Nordmann"
                )
            if expense or extra:
                expenses.append({"trip_id": trip_id, "expense": expense, "extra": extra})
    return json.dumps({"trips": trips, "expenses": expenses}, ensure_ascii=False).encode()


def lookups(drivers: int) -> tuple[dict[Any, Any], dict[str, Any], dict[str, Any], Any]:
    """Codes, pay items and employees as PowerOffice Go would answer for every driver."""
    from abax_payroll.domain.categories import Category
    from abax_payroll.domain.payroll import Employee, PayItem
    from abax_payroll.domain.rates import RateTable

    codes = {
        Category.MILEAGE: "710",
        Category.PASSENGER: "711",
        Category.TRAILER: "712",
        Category.FOREST_ROAD: "713",
        Category.HEAVY_LOAD: "714",
        Category.TOLL: "720",
        Category.PARKING: "721",
        Category.FERRY: "722",
    }
    kinds = {
        "710": "QuantityAndRate",
        "711": "QuantityAndRate",
        "712": "QuantityAndRate",
        "713": "QuantityAndRate",
        "714": "QuantityAndRate",
        "720": "ExpenseRefund",
        "721": "ExpenseRefund",
        "722": "ExpenseRefund",
    }
    pay_items = {
        code: PayItem(f"00000000-0000-0000-0000-000000000{code}", code, f"Lønnsart {code}", True, kind)
        for code, kind in kinds.items()
    }
    employees = {
        str(10000 + d): Employee(500000 + d, str(10000 + d), f"Sjåfør {d:05d}") for d in range(drivers)
    }
    return codes, pay_items, employees, RateTable.default()


def pipeline(document: dict[str, Any], drivers: int) -> Any:
    """What the validate and group steps do with the trips ABAX returned."""
    from abax_payroll.abax.adapter import to_trips
    from abax_payroll.domain.period import Period
    from abax_payroll.domain.plan import plan_export

    period = Period.parse(*PERIOD)
    codes, pay_items, employees, rates = lookups(drivers)
    batch = to_trips(document["trips"], document["expenses"], period)
    return plan_export(
        batch.trips,
        period,
        codes,
        rates,
        pay_items,
        employees,
        exported_trips={},
        data_problems=batch.problems,
    )


def _best(runs: int, work: Any) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        gc.collect()
        t = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - t)
        result = result if runs == 1 else None
    return best, result


def measure(drivers: int = 5000, trips_per_driver: int = 60, runs: int = 3) -> dict[str, Any]:
    raw = abax_json(drivers, trips_per_driver)
    parse_s, _ = _best(runs, lambda: json.loads(raw))
    document = json.loads(raw)
    pipeline(document, 10)  # imports and caches outside the clock
    pipeline_s = float("inf")
    plan = None
    for _ in range(runs):
        gc.collect()
        t = time.perf_counter()
        plan = pipeline(document, drivers)
        pipeline_s = min(pipeline_s, time.perf_counter() - t)
    assert plan is not None and plan.ready, [p.code for p in plan.problems] if plan else None
    lines = len(plan.lines)
    trips = sum(len(logbook.trips) for logbook in plan.logbooks)
    del plan
    gc.collect()
    tracemalloc.start()
    pipeline(document, drivers)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gc.collect()
    tracemalloc.start()
    json.loads(raw)
    _, parse_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "trips_in_json": drivers * trips_per_driver,
        "trips_paid": trips,
        "lines": lines,
        "json_bytes": len(raw),
        "parse_s": parse_s,
        "pipeline_s": pipeline_s,
        "ratio": pipeline_s / parse_s,
        "peak_bytes": peak,
        "parse_peak_bytes": parse_peak,
        "total_amount": None,
    }


if __name__ == "__main__":
    import sys

    drivers = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    print(measure(drivers, 60, runs=1))
