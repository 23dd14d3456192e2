"""Gather what an export plan needs (ABAX trips, PowerOffice lookups, ledger) and build it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..abax import TripBatch
from ..domain.categories import Category
from ..domain.payroll import Employee, PayItem
from ..domain.period import Period
from ..domain.plan import ExportPlan, plan_export
from ..domain.rates import RateTable
from ..domain.trips import Trip
from .services import Services
from .sources import read_trips, reading_poweroffice

if TYPE_CHECKING:
    from ..poweroffice import PowerOfficeClient


@dataclass
class PreparedPlan:
    plan: ExportPlan
    pay_items: dict[str, PayItem]
    employees: dict[str, Employee]
    codes: dict[Category, str | None]
    rates: RateTable | None = None
    tax_free: RateTable | None = None

    @property
    def source_hash(self) -> str:
        """Fingerprint of what is exported, so a later step can tell the logbooks did not change meanwhile."""
        digest = hashlib.sha256()
        for logbook in self.plan.logbooks:
            for trip in logbook.trips:
                fingerprint: tuple[Any, ...] = (trip.trip_id, trip.started_at.isoformat(), trip.quantities())
                if trip.missing_documentation:  # it decides the tax-free part (domain.taxfree)
                    fingerprint += (trip.missing_documentation,)
                digest.update(repr(fingerprint).encode())
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
    lookups: tuple[dict[str, PayItem], dict[str, Employee]] | None = None,
    batch: TripBatch | None = None,
) -> PreparedPlan:
    """Everything the preview shows and the export steps re-check; creates nothing.

    `lookups` (pay items and employees already read from PowerOffice Go) spares the shared rate limit;
    `batch` is the period's trips as a snapshot holds them (else they are read from ABAX now).
    """
    store = services.store
    codes = store.tenants.get_codes(tenant_id)
    taxable_excess = store.tenants.get_taxable_excess_code(tenant_id)
    undocumented_trips = store.tenants.get_undocumented_trips(tenant_id)
    rates = store.tenants.get_rates(tenant_id)
    tax_free = store.tenants.get_tax_free_rates(tenant_id)
    if batch is None:
        batch = read_trips(services, tenant_id, period)
    exported = store.ledger.exported_trips(tenant_id, months_of(period))
    if exclude_export:
        exported = {trip: export for trip, export in exported.items() if export != exclude_export}
    if lookups is not None:
        pay_items, employees = lookups
    else:
        pay_items, employees = _look_up(services, tenant_id, codes, batch.trips, poweroffice, taxable_excess)
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
        tax_free=tax_free,
        taxable_excess_code=taxable_excess,
        undocumented_trips=undocumented_trips,
    )
    return PreparedPlan(plan, pay_items, employees, codes, rates, tax_free)


def _look_up(
    services: Services,
    tenant_id: str,
    codes: dict[Category, str | None],
    trips: Iterable[Trip],
    poweroffice: PowerOfficeClient | None,
    taxable_excess: str | None = None,
) -> tuple[dict[str, PayItem], dict[str, Employee]]:
    """The configured pay items and the drivers' employees, as PowerOffice Go knows them."""
    configured, numbers = _wanted(codes, taxable_excess, trips)
    client = poweroffice or services.poweroffice_for(tenant_id)
    try:
        with reading_poweroffice():
            pay_items = client.pay_items_by_codes(configured) if configured else {}
            employees = client.employees_by_numbers(numbers) if numbers else {}
    finally:
        if poweroffice is None:
            client.close()
    return pay_items, employees


def _wanted(
    codes: dict[Category, str | None], taxable_excess: str | None, trips: Iterable[Trip]
) -> tuple[list[str], list[str]]:
    """The pay-item codes and employee numbers to ask PowerOffice Go for."""
    configured = sorted({code for code in [*codes.values(), taxable_excess] if code})
    numbers = sorted({trip.driver.employee_number for trip in trips if trip.driver.employee_number})
    return configured, numbers


def wanted_lookups(services: Services, tenant_id: str, trips: Iterable[Trip]) -> tuple[list[str], list[str]]:
    """What the trips' export needs from PowerOffice Go: the configured pay-item codes, the drivers' numbers."""
    tenants = services.store.tenants
    return _wanted(tenants.get_codes(tenant_id), tenants.get_taxable_excess_code(tenant_id), trips)


def lookups_to_json(prepared: PreparedPlan) -> dict[str, Any]:
    """What Validate read from PowerOffice Go, for Group to reuse (only what the selected logbooks need)."""
    numbers = {logbook.driver.employee_number for logbook in prepared.plan.logbooks}
    return lookups_json(
        prepared.pay_items,
        {number: e for number, e in prepared.employees.items() if number in numbers},
    )


def lookups_json(pay_items: dict[str, PayItem], employees: dict[str, Employee]) -> dict[str, Any]:
    """Pay items and employees as PowerOffice Go answered them, keyed as asked, for lookups_from_json.

    By column (each field's values side by side): it compresses a fifth better than item by item, and write
    units are charged per KB."""
    pay_item_rows = [
        {
            KEY: None if code == item.code else code,
            **asdict(item),
            "rate": None if item.rate is None else str(item.rate),
        }
        for code, item in pay_items.items()
    ]
    # Keyed by the number as the logbook has it ("01001" finds employee 1001 in Go), kept when it differs.
    employee_rows = [
        {KEY: None if number == e.number else number, **asdict(e)} for number, e in employees.items()
    ]
    return {"pay_item_columns": _columns(pay_item_rows), "employee_columns": _columns(employee_rows)}


KEY = "_key"  # the key each was looked up by, where it is not its own code or number


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Each field's values side by side (a field that is None in every row is left out)."""
    names = sorted({name for row in rows for name, value in row.items() if value is not None})
    return {name: [row.get(name) for row in rows] for name in names}


def _rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    count = len(next(iter(columns.values()), []))
    return [{name: values[at] for name, values in columns.items()} for at in range(count)]


def lookups_from_json(data: dict[str, Any]) -> tuple[dict[str, PayItem], dict[str, Employee]]:
    if "pay_item_columns" in data:
        pay_items = {row.pop(KEY, None) or row["code"]: row for row in _rows(data["pay_item_columns"])}
        employees = {row.pop(KEY, None) or row["number"]: row for row in _rows(data["employee_columns"])}
    else:  # written item by item (an export validated before the columns)
        pay_items, employees = data["pay_items"], data["employees"]
    return (
        {
            code: PayItem(**{**item, "rate": None if item.get("rate") is None else Decimal(item["rate"])})
            for code, item in pay_items.items()
        },
        {number: Employee(**employee) for number, employee in employees.items()},
    )
