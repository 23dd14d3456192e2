"""The checks that stop an export, every problem reported at once with the items it concerns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from . import problems as codes_
from .categories import ALL_CATEGORIES, Category
from .logbooks import Logbook
from .money import ZERO, fmt2
from .payroll import CAR_KM, PASSENGER_KM, Employee, PayItem
from .problems import Problem
from .taxfree import UNDOCUMENTED_BLOCK, UNDOCUMENTED_TAXABLE
from .trips import END_PLACE, PURPOSE, START_PLACE, Trip


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


def check_pay_item_reporting(
    codes: Mapping[Category, str | None],
    pay_items: Mapping[str, PayItem],
    taxable_excess_code: str | None = None,
) -> list[Problem]:
    """Each mapped pay item's a-melding coding fits what it carries (PowerOffice's PayItemDto).

    km and the car's supplements report as KilometergodtgjoerelseBil, passenger km as
    KilometergodtgjoerelsePassasjertillegg, both in the income report; the taxable excess is salary: withholding
    and employer's contribution on. A contradiction blocks; a km pay item with no description is a warning.
    """
    mismatched: list[dict[str, Any]] = []
    undescribed: dict[str, dict[str, Any]] = {}
    for category in ALL_CATEGORIES:
        code = codes.get(category)
        pay_item = pay_items.get(code) if code else None
        if (
            not category.is_distance
            or pay_item is None  # PAY_ITEM_NOT_FOUND says so
            or not pay_item.active
            or not pay_item.accepts(category)  # PAY_ITEM_INCOMPATIBLE says so
            or not pay_item.coding_known
        ):
            continue
        expected = PASSENGER_KM if category is Category.PASSENGER else CAR_KM
        where = {
            "code": pay_item.code,
            "pay_item_name": pay_item.name,
            "category": category.value,
            "benefit_description": pay_item.benefit_description,
        }
        if pay_item.benefit_description is None:
            entry = undescribed.setdefault(pay_item.code, {**where, "categories": [], "expected": expected})
            entry.pop("category", None)
            entry["categories"].append(category.value)
        elif pay_item.benefit_description != expected:
            mismatched.append(
                {
                    **where,
                    "expected": expected,
                    "reason_code": "WRONG_DESCRIPTION",
                    "reason": f"{category.value} reports as {expected} in the a-melding, but pay item {pay_item.code} "
                    f"reports as {pay_item.benefit_description}",
                }
            )
        if pay_item.include_in_income_report is False:
            mismatched.append(
                {
                    **where,
                    "reason_code": "NOT_IN_INCOME_REPORT",
                    "reason": f"pay item {pay_item.code} is left out of the income report (a-melding), where "
                    f"{category.value} must be reported",
                }
            )
    excess = pay_items.get(taxable_excess_code) if taxable_excess_code else None
    if (
        excess is not None
        and excess.active
        and excess.coding_known
        and (not excess.withholds_and_contributes or excess.include_in_income_report is False)
    ):
        mismatched.append(
            {
                "code": excess.code,
                "pay_item_name": excess.name,
                "category": "taxable_excess",
                "tax_deduction": excess.tax_deduction,
                "employer_contribution_basis": excess.employer_contribution_basis,
                "reason_code": "TAXABLE_WITHOUT_WITHHOLDING",
                "reason": f"the taxable excess is salary: pay item {excess.code} must withhold tax (TaxDeduction "
                f"{excess.tax_deduction or 'none'}), count for employer's contribution "
                f"({'yes' if excess.employer_contribution_basis else 'no'}) and be in the income report",
            }
        )
    found: list[Problem] = []
    if mismatched:
        found.append(
            Problem(
                codes_.PAY_ITEM_REPORTING_MISMATCH,
                "Pay items' a-melding coding contradicts what they would carry: "
                + "; ".join(item["reason"] for item in mismatched)
                + ". Map another pay item, or correct the pay item in PowerOffice Go.",
                mismatched,
                params={"codes": sorted({item["code"] for item in mismatched})},
            )
        )
    if undescribed:
        items = list(undescribed.values())
        found.append(
            Problem(
                codes_.PAY_ITEM_REPORTING_MISMATCH,
                "Pay items without an a-melding description: "
                + ", ".join(f"{item['code']} ({'/'.join(item['categories'])})" for item in items)
                + ". Give each its description in PowerOffice Go (KilometergodtgjoerelseBil, or "
                "KilometergodtgjoerelsePassasjertillegg for passenger km).",
                items,
                severity=codes_.WARNING,
                params={"codes": [item["code"] for item in items]},
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
    logbooks: Iterable[Logbook],
    codes: Mapping[Category, str | None],
    undocumented: str = UNDOCUMENTED_TAXABLE,
) -> list[Problem]:
    """Trips without purpose or start/end place (taxable, or blocking when the company says so); warnings for
    passenger km without the passengers' names (taxable supplement) and supplements cut to the trip's distance."""
    unnamed: list[dict[str, Any]] = []
    capped: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for logbook in logbooks:
        driver = logbook.driver
        for trip in logbook.trips:
            where = {
                "trip_id": trip.trip_id,
                "date": trip.date.isoformat(),
                "employee_number": driver.employee_number,
                "driver_name": driver.name,
            }
            if trip.missing_documentation and any(
                codes.get(category) for category in trip.quantities() if category.is_distance
            ):
                missing.append(
                    {
                        **where,
                        "km": fmt2(trip.distance_km),
                        "vehicle_alias": trip.vehicle_alias,
                        "missing": list(trip.missing_documentation),
                        "fix": "add the "
                        + " and ".join(MISSING_NAMES[name] for name in trip.missing_documentation)
                        + " to the trip in ABAX's logbook, then search again",
                    }
                )
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
    if missing:
        blocking = undocumented == UNDOCUMENTED_BLOCK
        listed = "; ".join(
            f"{item['date']} {item['driver_name']} {item['km']} km (no {', '.join(item['missing'])})"
            for item in missing[:10]
        ) + (f"; and {len(missing) - 10} more" if len(missing) > 10 else "")
        found.append(
            Problem(
                codes_.TRIP_UNDOCUMENTED,
                f"{len(missing)} trip(s) lack what the travel claim must hold for a tax-free allowance (a purpose, a "
                f"start and an end place; Skatte-ABC A-13-3.7.1): {listed}. "
                + (
                    "The company's setting blocks such trips: add what is missing in ABAX and search again."
                    if blocking
                    else "They are paid, but their km and supplements are taxable. Add what is missing in ABAX and "
                    "search again to pay them tax-free."
                ),
                missing,
                severity=codes_.ERROR if blocking else codes_.WARNING,
                params={"trips": len(missing), "setting": undocumented},
            )
        )
    if unnamed:
        found.append(
            Problem(
                codes_.PASSENGER_NAMES_MISSING,
                f"{len(unnamed)} trip(s) claim passenger km without the passengers' names, which the travel claim must "
                "hold (skattebetalingsforskriften § 5-6-12); they are paid for one passenger, and the supplement is "
                "taxable. Add the names in ABAX to pay it tax-free.",
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


MISSING_NAMES = {PURPOSE: "purpose", START_PLACE: "start address", END_PLACE: "end address"}


def check_unknown_vehicles(trips: Iterable[Trip]) -> list[Problem]:
    """Business trips in a car ABAX has no class for are left out (it may be a company car), never silently."""
    by_vehicle: dict[str, dict[str, Any]] = {}
    for trip in trips:
        if not trip.in_unknown_vehicle:
            continue
        entry = by_vehicle.setdefault(
            trip.vehicle_id,
            {
                "vehicle_id": trip.vehicle_id,
                "vehicle_alias": trip.vehicle_alias,
                "trips": 0,
                "km": ZERO,
                "drivers": set(),
                "trip_ids": [],
            },
        )
        entry["vehicle_alias"] = trip.vehicle_alias or entry["vehicle_alias"]
        entry["trips"] += 1
        entry["km"] += trip.distance_km
        entry["drivers"].add(trip.driver.name)
        entry["trip_ids"].append(trip.trip_id)
    if not by_vehicle:
        return []
    items = [
        {
            **entry,
            "km": fmt2(entry["km"]),
            "drivers": sorted(entry["drivers"]),
            "fix": "set the vehicle's class (private or company) in ABAX, then search again",
        }
        for _, entry in sorted(by_vehicle.items())
    ]
    listed = ", ".join(
        f"{item['vehicle_alias'] or item['vehicle_id']} ({item['trips']} trip(s), {item['km']} km)"
        for item in items
    )
    return [
        Problem(
            codes_.VEHICLE_CLASS_UNKNOWN,
            f"Business trips in vehicles whose class is Unknown in ABAX are left out: {listed}. Set each vehicle's "
            "class in ABAX (Private for the employee's own car) and search again, or the drivers are not paid for them.",
            items,
            severity=codes_.WARNING,
            params={
                "vehicles": [item["vehicle_alias"] or item["vehicle_id"] for item in items],
                "trips": sum(item["trips"] for item in items),
                "km": fmt2(sum((Decimal(item["km"]) for item in items), ZERO)),
            },
        )
    ]


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
