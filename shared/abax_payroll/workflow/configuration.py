"""Payroll codes, rates and the monthly schedule of a tenant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.categories import ALL_CATEGORIES, Category
from ..domain.money import fmt2
from ..domain.rates import Rate, RateTable
from ..errors import InvalidRequest
from .services import Services


def get_codes(services: Services, tenant_id: str) -> dict[str, Any]:
    codes = services.store.get_codes(tenant_id)
    return {"codes": {category.value: codes.get(category) for category in ALL_CATEGORIES}}


def put_codes(services: Services, tenant_id: str, codes: Mapping[Category, str | None], user: str) -> dict[str, Any]:
    cleaned = {category: (codes.get(category) or None) for category in ALL_CATEGORIES}
    services.store.put_codes(tenant_id, cleaned, user)
    return get_codes(services, tenant_id)


def get_rates(services: Services, tenant_id: str) -> dict[str, Any]:
    table = services.store.get_rates(tenant_id)
    return {
        "rates": [
            {"category": rate.category.value, "valid_from": rate.valid_from.isoformat(), "rate": fmt2(rate.rate)}
            for rate in table.entries()
        ]
    }


def put_rates(services: Services, tenant_id: str, rates: list[Rate], user: str) -> dict[str, Any]:
    try:
        table = RateTable(rates)
    except ValueError as error:
        raise InvalidRequest(str(error)) from None
    missing = table.missing_categories()
    if missing:
        raise InvalidRequest(
            "every km category needs at least one rate; missing: " + ", ".join(sorted(category.value for category in missing))
        )
    services.store.put_rates(tenant_id, table, user)
    return get_rates(services, tenant_id)


def get_schedule(services: Services, tenant_id: str) -> dict[str, Any]:
    return services.store.get_schedule(tenant_id)


def put_schedule(services: Services, tenant_id: str, enabled: bool, day_of_month: int, user: str) -> dict[str, Any]:
    services.store.put_schedule(tenant_id, enabled, day_of_month, user)
    return get_schedule(services, tenant_id)
