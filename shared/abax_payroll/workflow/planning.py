"""Gather what an export plan needs (ABAX trips, PowerOffice lookups, ledger) and build it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from ..abax import AbaxAuthFailed, AbaxUnavailable, fetch_trips
from ..domain.categories import Category
from ..domain.payroll import Employee, PayItem
from ..domain.period import Period
from ..domain.plan import ExportPlan, plan_export
from ..errors import AbaxUnavailableError, PowerOfficeUnavailableError, PrivilegesMissingError
from ..poweroffice import PowerOfficeClient, PowerOfficeError, PrivilegesMissing
from .services import Services


@dataclass
class PreparedPlan:
    plan: ExportPlan
    pay_items: dict[str, PayItem]
    employees: dict[str, Employee]
    codes: dict[Category, str | None]

    @property
    def source_hash(self) -> str:
        """Fingerprint of what is exported, so a later step can tell the logbooks did not change meanwhile."""
        digest = hashlib.sha256()
        for logbook in self.plan.logbooks:
            for trip in logbook.trips:
                digest.update(repr((trip.trip_id, trip.started_at.isoformat(), trip.quantities())).encode())
        return digest.hexdigest()


def months_of(period: Period) -> list[str]:
    months, year, month = [], period.start.year, period.start.month
    while (year, month) <= (period.end.year, period.end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def prepare_plan(
    services: Services,
    tenant_id: str,
    period: Period,
    logbook_ids: Iterable[str] | None = None,
    poweroffice: PowerOfficeClient | None = None,
    exclude_export: str | None = None,
) -> PreparedPlan:
    """Everything the preview shows and the export steps re-check; creates nothing."""
    store = services.store
    codes = store.get_codes(tenant_id)
    rates = store.get_rates(tenant_id)
    try:
        with services.abax_for(tenant_id) as abax:
            batch = fetch_trips(abax, period)
    except (AbaxUnavailable, AbaxAuthFailed) as error:
        raise AbaxUnavailableError(f"the logbooks could not be read from ABAX: {error}") from None
    exported = store.exported_trips(tenant_id, months_of(period))
    if exclude_export:
        exported = {trip: export for trip, export in exported.items() if export != exclude_export}
    client = poweroffice or services.poweroffice_for(tenant_id)
    try:
        configured = sorted({code for code in codes.values() if code})
        pay_items = client.pay_items_by_codes(configured) if configured else {}
        numbers = sorted({trip.driver.employee_number for trip in batch.trips if trip.driver.employee_number})
        employees = client.employees_by_numbers(numbers) if numbers else {}
    except PrivilegesMissing as error:
        raise PrivilegesMissingError(f"PowerOffice Go refused access: {error.detail or error.title}") from None
    except PowerOfficeError as error:
        raise PowerOfficeUnavailableError(f"PowerOffice Go could not be read: {error.title}") from None
    finally:
        if poweroffice is None:
            client.close()
    plan = plan_export(
        batch.trips,
        period,
        codes,
        rates,
        pay_items,
        employees,
        exported_trips=exported,
        data_problems=batch.problems,
        logbook_ids=logbook_ids,
    )
    return PreparedPlan(plan, pay_items, employees, codes)
