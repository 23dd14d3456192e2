"""Payroll codes, rates and the monthly schedule of a tenant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.categories import ALL_CATEGORIES, Category
from ..domain.money import fmt2
from ..domain.rates import Rate, RateTable
from ..errors import InvalidRequest, PowerOfficeUnavailableError, PrivilegesMissingError
from ..poweroffice import PowerOfficeError, PrivilegesMissing
from ..records import ScheduleSetting
from .services import Services


def get_codes(services: Services, tenant_id: str) -> dict[str, Any]:
    codes = services.store.tenants.get_codes(tenant_id)
    return {"codes": {category.value: codes.get(category) for category in ALL_CATEGORIES}}


def put_codes(services: Services, tenant_id: str, codes: Mapping[Category, str | None], user: str) -> dict[str, Any]:
    cleaned = {category: (codes.get(category) or None) for category in ALL_CATEGORIES}
    services.store.tenants.put_codes(tenant_id, cleaned, user)
    return get_codes(services, tenant_id)


def list_pay_items(services: Services, tenant_id: str) -> dict[str, Any]:
    """PowerOffice Go's pay items with name, kind and whether active, so codes can be picked by name."""
    try:
        with services.poweroffice_for(tenant_id) as poweroffice:
            items = poweroffice.pay_items()
    except PrivilegesMissing as error:
        raise PrivilegesMissingError(f"PowerOffice Go refused access: {error.detail or error.title}") from None
    except PowerOfficeError as error:
        raise PowerOfficeUnavailableError(f"PowerOffice Go could not be read: {error.title}") from None
    return {
        "pay_items": [
            {
                "code": item.code,
                "name": item.name,
                "active": item.active,
                "processing_type": item.processing_type,
                "fits": "km" if item.sends_quantity else "outlay" if item.sends_amount else "none",
            }
            for item in items
        ]
    }


def get_rates(services: Services, tenant_id: str) -> dict[str, Any]:
    table = services.store.tenants.get_rates(tenant_id)
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
    services.store.tenants.put_rates(tenant_id, table, user)
    return get_rates(services, tenant_id)


def get_schedule(services: Services, tenant_id: str) -> ScheduleSetting:
    return services.store.tenants.get_schedule(tenant_id)


def put_schedule(services: Services, tenant_id: str, enabled: bool, day_of_month: int, user: str) -> ScheduleSetting:
    services.store.tenants.put_schedule(tenant_id, enabled, day_of_month, user)
    return get_schedule(services, tenant_id)
