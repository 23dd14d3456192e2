"""The checks that stop an export, every problem reported at once with the items it concerns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from . import problems as codes_
from .categories import ALL_CATEGORIES, Category
from .logbooks import Logbook
from .money import ZERO, fmt2
from .payroll import Employee, PayItem
from .problems import Problem


def check_pay_items(
    codes: Mapping[Category, str | None],
    pay_items: Mapping[str, PayItem],
    taxable_excess_code: str | None = None,
) -> list[Problem]:
    """Every configured code exists and is active in PowerOffice Go, and fits its categories."""
    by_code: dict[str, list[Category]] = defaultdict(list)
    for category in ALL_CATEGORIES:
        code = codes.get(category)
        if code:
            by_code[code].append(category)
    missing: list[dict[str, Any]] = []
    incompatible: list[dict[str, Any]] = []
    if taxable_excess_code:
        pay_item = pay_items.get(taxable_excess_code)
        if pay_item is None or not pay_item.active:
            reason = "inactive in PowerOffice Go" if pay_item else "not found in PowerOffice Go"
            if taxable_excess_code not in by_code:
                missing.append(
                    {"code": taxable_excess_code, "categories": ["taxable_excess"], "reason": reason}
                )
        elif taxable_excess_code in by_code or not pay_item.accepts_taxable_excess():
            incompatible.append(
                {
                    "code": taxable_excess_code,
                    "category": "taxable_excess",
                    "processing_type": pay_item.processing_type,
                    "reason": f"the taxable excess needs a pay item of its own that takes quantity and rate or an "
                    f"amount; pay item {taxable_excess_code} ({pay_item.processing_type}) "
                    + ("is also mapped to a category" if taxable_excess_code in by_code else "does not"),
                }
            )
    for code, categories in by_code.items():
        pay_item = pay_items.get(code)
        names = [category.value for category in categories]
        if pay_item is None:
            missing.append(
                {
                    "code": code,
                    "categories": names,
                    "reason": "not found in PowerOffice Go",
                    "reason_code": "NOT_FOUND",
                }
            )
        elif not pay_item.active:
            missing.append(
                {
                    "code": code,
                    "categories": names,
                    "reason": "inactive in PowerOffice Go",
                    "reason_code": "INACTIVE",
                    "pay_item_name": pay_item.name,
                }
            )
        else:
            for category in categories:
                if not pay_item.accepts(category):
                    incompatible.append(
                        {
                            "code": code,
                            "category": category.value,
                            "processing_type": pay_item.processing_type,
                            "pay_item_name": pay_item.name,
                            "unit": category.unit,
                            "expects": pay_item.expects,
                            "reason_code": "WRONG_KIND",
                            "reason": f"{category.value} is counted in {category.unit}, but pay item {code} "
                            f"({pay_item.processing_type}) takes {pay_item.expects}",
                        }
                    )
    found: list[Problem] = []
    if missing:
        listed = ", ".join(str(item["code"]) for item in missing)
        found.append(
            Problem(
                codes_.PAY_ITEM_NOT_FOUND,
                f"Pay-item codes not found or inactive in PowerOffice Go: {listed}. Fix the payroll codes.",
                missing,
                params={"codes": [item["code"] for item in missing]},
            )
        )
    if incompatible:
        found.append(
            Problem(
                codes_.PAY_ITEM_INCOMPATIBLE,
                "Some categories are mapped to pay items of the wrong kind: km categories need a quantity pay item, "
                "outlays an amount pay item.",
                incompatible,
                params={"codes": sorted({item["code"] for item in incompatible})},
            )
        )
    return found


def check_employees(logbooks: Iterable[Logbook], employees: Mapping[str, Employee]) -> list[Problem]:
    """Every driver has an employee number, and every number exists (not archived) in PowerOffice Go."""
    without_number: dict[str, dict] = {}
    not_found: dict[str, dict] = {}
    for logbook in logbooks:
        driver = logbook.driver
        number = driver.employee_number
        if not number:
            entry = without_number.setdefault(
                driver.driver_id, {"driver_id": driver.driver_id, "driver_name": driver.name, "logbooks": []}
            )
            entry["logbooks"].append(logbook.logbook_id)
            continue
        employee = employees.get(number)
        if employee is None or employee.archived:
            entry = not_found.setdefault(
                number,
                {
                    "employee_number": number,
                    "driver_name": driver.name,
                    "reason": "archived in PowerOffice Go" if employee else "not found in PowerOffice Go",
                    "reason_code": "ARCHIVED" if employee else "NOT_FOUND",
                    "logbooks": [],
                },
            )
            entry["logbooks"].append(logbook.logbook_id)
    found = []
    if without_number:
        names = ", ".join(entry["driver_name"] for entry in without_number.values())
        found.append(
            Problem(
                codes_.EMPLOYEE_NUMBER_MISSING,
                f"Drivers without an employee number in ABAX: {names}. Add the employee number to each driver.",
                list(without_number.values()),
                params={"drivers": [entry["driver_name"] for entry in without_number.values()]},
            )
        )
    if not_found:
        numbers = ", ".join(not_found)
        found.append(
            Problem(
                codes_.EMPLOYEE_NOT_FOUND,
                f"Employee numbers not found in PowerOffice Go: {numbers}.",
                list(not_found.values()),
                params={"employee_numbers": list(not_found)},
            )
        )
    return found


def check_codes_configured(
    logbooks: Iterable[Logbook], codes: Mapping[Category, str | None]
) -> list[Problem]:
    """Every category that has data has a pay-item code; say how much data is blocked."""
    blocked: dict[Category, dict] = {}
    for logbook in logbooks:
        for trip in logbook.trips:
            for category, quantity in trip.quantities().items():
                if codes.get(category):
                    continue
                entry = blocked.setdefault(
                    category,
                    {
                        "category": category.value,
                        "unit": category.unit,
                        "total": ZERO,
                        "trips": 0,
                        "drivers": set(),
                    },
                )
                entry["total"] += quantity
                entry["trips"] += 1
                entry["drivers"].add(logbook.driver.name)
    if not blocked:
        return []
    items = [
        {
            "category": entry["category"],
            "unit": entry["unit"],
            "total": fmt2(entry["total"]),
            "trips": entry["trips"],
            "drivers": sorted(entry["drivers"]),
        }
        for category, entry in sorted(blocked.items(), key=lambda pair: ALL_CATEGORIES.index(pair[0]))
    ]
    summary = ", ".join(
        f"{item['category']} ({item['total']} {item['unit']} on {item['trips']} trips)" for item in items
    )
    return [
        Problem(
            codes_.PAY_CODE_NOT_CONFIGURED,
            f"Categories with data but no pay-item code: {summary}. Map them in the payroll codes.",
            items,
            params={"categories": [item["category"] for item in items]},
        )
    ]


def check_trip_documentation(
    logbooks: Iterable[Logbook], codes: Mapping[Category, str | None]
) -> list[Problem]:
    """Warnings: passenger km without the passengers' names, and supplements cut to the trip's distance."""
    unnamed: list[dict[str, Any]] = []
    capped: list[dict[str, Any]] = []
    for logbook in logbooks:
        driver = logbook.driver
        for trip in logbook.trips:
            where = {
                "trip_id": trip.trip_id,
                "date": trip.date.isoformat(),
                "employee_number": driver.employee_number,
                "driver_name": driver.name,
            }
            if trip.passengers_unnamed and codes.get(Category.PASSENGER):
                unnamed.append({**where, "passenger_km": fmt2(trip.extras.passenger_km)})
            for category, claimed, paid in trip.capped_supplements():
                if codes.get(category):
                    capped.append(
                        {
                            **where,
                            "category": category.value,
                            "claimed_km": fmt2(claimed),
                            "paid_km": fmt2(paid),
                            "distance_km": fmt2(trip.distance_km),
                        }
                    )
    found = []
    if unnamed:
        found.append(
            Problem(
                codes_.PASSENGER_NAMES_MISSING,
                f"{len(unnamed)} trip(s) claim passenger km without the passengers' names, which the travel claim must "
                "hold (skattebetalingsforskriften § 5-6-12); they are paid for one passenger. Add the names in ABAX.",
                unnamed,
                severity=codes_.WARNING,
                params={"trips": len(unnamed)},
            )
        )
    if capped:
        found.append(
            Problem(
                codes_.SUPPLEMENT_CAPPED,
                f"{len(capped)} supplement(s) claim more km than their trip drove; each is paid for at most the "
                "trip's distance, and trailer, caravan and heavy load together at most once per driven km.",
                capped,
                severity=codes_.WARNING,
                params={"supplements": len(capped)},
            )
        )
    return found


def rate_missing_problem(missing: Mapping[tuple[str, Category], set[date]]) -> Problem:
    """RATE_MISSING naming each category, table and the dates of its trips that no rate covers."""
    items: list[dict[str, Any]] = []
    for (table, category), days in sorted(
        missing.items(), key=lambda pair: (pair[0][0], ALL_CATEGORIES.index(pair[0][1]))
    ):
        ordered = sorted(days)
        items.append(
            {
                "category": category.value,
                "table": table,
                "from": ordered[0].isoformat(),
                "to": ordered[-1].isoformat(),
                "dates": [day.isoformat() for day in ordered],
            }
        )
    listed = "; ".join(
        f"{'tax-free ' if item['table'] == 'tax_free' else ''}{item['category']} "
        + (item["from"] if item["from"] == item["to"] else f"{item['from']} to {item['to']}")
        for item in items
    )
    return Problem(
        codes_.RATE_MISSING,
        f"No rate is in force for trips on these dates: {listed}. Add the rates for them in the rate table.",
        items,
        params={"categories": sorted({item["category"] for item in items})},
    )
