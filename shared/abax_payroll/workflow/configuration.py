"""Payroll codes, rates and the monthly schedule of a tenant."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from ..domain.categories import ALL_CATEGORIES, DISTANCE_CATEGORIES, Category
from ..domain.money import fmt2
from ..domain.rates import PER_PASSENGER, STATE_RATES, Rate, RateTable
from ..domain.trips import OSLO
from ..errors import InvalidRequest
from ..records import ScheduleSetting
from .services import Services
from .sources import reading_poweroffice


def get_codes(services: Services, tenant_id: str) -> dict[str, Any]:
    codes = services.store.tenants.get_codes(tenant_id)
    return {
        "codes": {category.value: codes.get(category) for category in ALL_CATEGORIES},
        "taxable_excess": services.store.tenants.get_taxable_excess_code(tenant_id),
        "undocumented_trips": services.store.tenants.get_undocumented_trips(tenant_id),
    }


def put_codes(
    services: Services,
    tenant_id: str,
    codes: Mapping[Category, str | None],
    user: str,
    taxable_excess: str | None = None,
    undocumented_trips: str | None = None,
) -> dict[str, Any]:
    cleaned = {category: (codes.get(category) or None) for category in ALL_CATEGORIES}
    services.store.tenants.put_codes(
        tenant_id,
        cleaned,
        user,
        taxable_excess or None,
        undocumented_trips or services.store.tenants.get_undocumented_trips(tenant_id),
    )
    return get_codes(services, tenant_id)


def list_pay_items(services: Services, tenant_id: str) -> dict[str, Any]:
    """PowerOffice Go's pay items with name, kind and whether active, so codes can be picked by name."""
    with reading_poweroffice(), services.poweroffice_for(tenant_id, within_api_call=True) as poweroffice:
        items = poweroffice.pay_items()
    return {
        "pay_items": [
            {
                "code": item.code,
                "name": item.name,
                "active": item.active,
                "processing_type": item.processing_type,
                "fits": "km" if item.sends_quantity else "outlay" if item.sends_amount else "none",
                "benefit_description": item.benefit_description,
                "tax_deduction": item.tax_deduction,
                "employer_contribution_basis": item.employer_contribution_basis,
                "include_in_income_report": item.include_in_income_report,
            }
            for item in items
        ]
    }


def _entries(table: RateTable) -> list[dict[str, Any]]:
    return [
        {
            "category": rate.category.value,
            "valid_from": rate.valid_from.isoformat(),
            "valid_to": rate.valid_to.isoformat() if rate.valid_to else None,
            "rate": fmt2(rate.rate),
        }
        for rate in table.entries()
    ]


def get_rates(services: Services, tenant_id: str) -> dict[str, Any]:
    """The rate tables, the rates in force today and, from December, next year's rates that are missing."""
    table = services.store.tenants.get_rates(tenant_id)
    tax_free = services.store.tenants.get_tax_free_rates(tenant_id)
    today = services.clock().astimezone(OSLO).date()
    in_force = []
    for category in sorted(DISTANCE_CATEGORIES, key=list(Category).index):
        rate, free = table.find(category, today), tax_free.find(category, today)
        in_force.append(
            {
                "category": category.value,
                "rate": fmt2(rate.rate) if rate else None,
                "valid_from": rate.valid_from.isoformat() if rate else None,
                "valid_to": rate.valid_to.isoformat() if rate and rate.valid_to else None,
                "tax_free_rate": fmt2(free.rate) if free else None,
            }
        )
    warnings = []
    if today.month == 12:
        next_year = today.year + 1
        first, last = date(next_year, 1, 1), date(next_year, 12, 31)
        missing = table.uncovered(first, last)
        missing_free = tax_free.uncovered(first, last)
        if missing or missing_free:
            warnings.append(
                {
                    "code": "NEXT_YEAR_RATES_MISSING",
                    "severity": "warning",
                    "message": f"The rates for {next_year} are missing; trips from 1 January {next_year} cannot be "
                    "exported until they are added.",
                    "params": {
                        "year": next_year,
                        "categories": [category.value for category in missing],
                        "tax_free_categories": [category.value for category in missing_free],
                    },
                }
            )
    return {
        "rates": _entries(table),
        "passenger_supplement": table.passenger_basis,
        "tax_free_rates": _entries(tax_free),
        # The state's rates beside the tenant's, so a client can question a rate far above them (a typo).
        "state_rates": _entries(RateTable(STATE_RATES)),
        "today": today.isoformat(),
        "in_force": in_force,
        "warnings": warnings,
    }


def _table(rates: list[Rate], name: str, passenger_basis: str = PER_PASSENGER) -> RateTable:
    label = "tax-free " if name == "tax_free" else ""
    try:
        table = RateTable(rates, table=name, passenger_basis=passenger_basis)
    except ValueError as error:
        raise InvalidRequest(
            f"{label}{error}", params={"reason": "INVALID_RATE_TABLE", "table": name}
        ) from None
    missing = table.missing_categories()
    if missing:
        names = sorted(category.value for category in missing)
        raise InvalidRequest(
            f"every km category needs at least one {label}rate; missing: " + ", ".join(names),
            params={"reason": "CATEGORY_WITHOUT_RATE", "table": name, "categories": names},
        )
    return table


def put_rates(
    services: Services,
    tenant_id: str,
    rates: list[Rate],
    user: str,
    tax_free: list[Rate] | None = None,
    passenger_supplement: str | None = None,
) -> dict[str, Any]:
    """Replace the rate table (and the tax-free table, and how the passenger supplement is paid, when given;
    the stored or default ones stay otherwise)."""
    basis = passenger_supplement or services.store.tenants.get_rates(tenant_id).passenger_basis
    table = _table(rates, "paid", basis)
    tax_free_table = (
        _table(tax_free, "tax_free")
        if tax_free is not None
        else services.store.tenants.get_tax_free_rates(tenant_id)
    )
    services.store.tenants.put_rates(tenant_id, table, user, tax_free_table)
    return get_rates(services, tenant_id)


def get_schedule(services: Services, tenant_id: str) -> ScheduleSetting:
    return services.store.tenants.get_schedule(tenant_id)


def put_schedule(
    services: Services,
    tenant_id: str,
    enabled: bool,
    day_of_month: int,
    user: str,
    notification_emails: list[str] | None = None,
) -> ScheduleSetting:
    """`notification_emails` None keeps the stored addresses (a client that does not know the field)."""
    emails = None if notification_emails is None else sorted({e.lower() for e in notification_emails})
    services.store.tenants.put_schedule(tenant_id, enabled, day_of_month, user, emails)
    return get_schedule(services, tenant_id)
