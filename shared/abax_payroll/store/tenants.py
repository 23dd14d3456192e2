"""Tenant configuration: the PowerOffice Go integration, payroll codes, rates, the schedule and its claims."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key

from ..domain.categories import ALL_CATEGORIES, Category
from ..domain.rates import PER_PASSENGER, Rate, RateTable
from ..domain.taxfree import UNDOCUMENTED_TAXABLE
from ..records import AbaxIntegration, Integration, ScheduleSetting
from .table import Table, now_iso, plain, tenant_pk

INTEGRATION, CODES, RATES, SCHEDULE = "INTEGRATION", "CODES", "RATES", "SCHEDULE"
ABAX_INTEGRATION = "INTEGRATION#ABAX"


def _rate(entry: Mapping[str, Any]) -> Rate:
    valid_to = entry.get("valid_to")
    return Rate(
        Category(entry["category"]),
        datetime.fromisoformat(entry["valid_from"]).date(),
        Decimal(entry["rate"]),
        datetime.fromisoformat(valid_to).date() if valid_to else None,
    )


def _rate_entry(rate: Rate) -> dict[str, Any]:
    entry = {
        "category": rate.category.value,
        "valid_from": rate.valid_from.isoformat(),
        "rate": str(rate.rate),
    }
    if rate.valid_to is not None:
        entry["valid_to"] = rate.valid_to.isoformat()
    return entry


def _scheduled_day(day_of_month: int) -> str:
    return f"SCHEDULE#DAY#{day_of_month:02d}"


def _scheduled_month(month: str) -> str:
    return f"SCHEDULED#{month}"


class TenantStore:
    def __init__(self, table: Table):
        self.table = table

    # ---- integration -------------------------------------------------------------------------
    def get_integration(self, tenant_id: str) -> Integration | None:
        item = self.table.get(tenant_pk(tenant_id), INTEGRATION)
        return Integration.model_validate(plain(item)) if item else None

    def put_integration(self, tenant_id: str, integration: Integration) -> None:
        self.table.put(tenant_pk(tenant_id), INTEGRATION, integration.stored())

    def get_abax_integration(self, tenant_id: str) -> AbaxIntegration | None:
        item = self.table.get(tenant_pk(tenant_id), ABAX_INTEGRATION)
        return AbaxIntegration.model_validate(plain(item)) if item else None

    def put_abax_integration(self, tenant_id: str, integration: AbaxIntegration) -> None:
        self.table.put(tenant_pk(tenant_id), ABAX_INTEGRATION, integration.stored())

    # ---- payroll codes and rates -------------------------------------------------------------
    def get_codes(self, tenant_id: str) -> dict[Category, str | None]:
        item = self.table.get(tenant_pk(tenant_id), CODES) or {}
        stored = item.get("codes", {})
        return {category: stored.get(category.value) for category in ALL_CATEGORIES}

    def put_codes(
        self,
        tenant_id: str,
        codes: Mapping[Category, str | None],
        updated_by: str,
        taxable_excess: str | None = None,
        undocumented_trips: str = UNDOCUMENTED_TAXABLE,
    ) -> None:
        self.table.put(
            tenant_pk(tenant_id),
            CODES,
            {
                "codes": {category.value: codes.get(category) for category in ALL_CATEGORIES},
                "taxable_excess": taxable_excess,
                "undocumented_trips": undocumented_trips,
                "updated_at": now_iso(),
                "updated_by": updated_by,
            },
        )

    def get_taxable_excess_code(self, tenant_id: str) -> str | None:
        """The pay item that takes the part of a km allowance above the tax-free rate, if the company maps one."""
        item = self.table.get(tenant_pk(tenant_id), CODES) or {}
        return item.get("taxable_excess") or None

    def get_undocumented_trips(self, tenant_id: str) -> str:
        """What a trip without purpose or start and end place does: taxable (the default) or block."""
        item = self.table.get(tenant_pk(tenant_id), CODES) or {}
        return item.get("undocumented_trips") or UNDOCUMENTED_TAXABLE

    def get_rates(self, tenant_id: str) -> RateTable:
        item = self.table.get(tenant_pk(tenant_id), RATES)
        if not item:
            return RateTable.default()
        return RateTable(
            (_rate(entry) for entry in item["rates"]),
            passenger_basis=item.get("passenger_supplement") or PER_PASSENGER,
        )

    def get_tax_free_rates(self, tenant_id: str) -> RateTable:
        item = self.table.get(tenant_pk(tenant_id), RATES)
        if not item or item.get("tax_free") is None:
            return RateTable.default_tax_free()
        return RateTable((_rate(entry) for entry in item["tax_free"]), table="tax_free")

    def put_rates(
        self, tenant_id: str, rates: RateTable, updated_by: str, tax_free: RateTable | None = None
    ) -> None:
        attributes: dict[str, Any] = {
            "rates": [_rate_entry(rate) for rate in rates.entries()],
            "passenger_supplement": rates.passenger_basis,
            "updated_at": now_iso(),
            "updated_by": updated_by,
        }
        if tax_free is not None:
            attributes["tax_free"] = [_rate_entry(rate) for rate in tax_free.entries()]
        self.table.put(tenant_pk(tenant_id), RATES, attributes)

    # ---- schedule -----------------------------------------------------------------------------
    def get_schedule(self, tenant_id: str) -> ScheduleSetting:
        item = self.table.get(tenant_pk(tenant_id), SCHEDULE)
        if not item:
            return ScheduleSetting()
        return ScheduleSetting(
            enabled=bool(item["enabled"]),
            day_of_month=int(item["day_of_month"]),
            notification_emails=list(item.get("notification_emails") or []),
        )

    def put_schedule(
        self,
        tenant_id: str,
        enabled: bool,
        day_of_month: int,
        updated_by: str,
        notification_emails: list[str] | None = None,
    ) -> None:
        """`notification_emails` None keeps the addresses stored before."""
        if notification_emails is None:
            notification_emails = self.get_schedule(tenant_id).notification_emails
        attributes: dict[str, Any] = {
            "tenant_id": tenant_id,
            "enabled": enabled,
            "day_of_month": day_of_month,
            "notification_emails": notification_emails,
            "updated_at": now_iso(),
            "updated_by": updated_by,
        }
        if enabled:  # sparse index: only enabled schedules are found by day
            attributes["gsi1pk"] = _scheduled_day(day_of_month)
            attributes["gsi1sk"] = tenant_id
        self.table.put(tenant_pk(tenant_id), SCHEDULE, attributes)

    def tenants_scheduled_on(self, day_of_month: int) -> list[str]:
        items = self.table.query(
            IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(_scheduled_day(day_of_month))
        )
        return [item["gsi1sk"] for item in items]

    def first_notice(self, tenant_id: str, key: str) -> bool:
        """True the first time this notice (e.g. "2026-11#INTEGRATION_INACTIVE") is given to the tenant."""
        written = self.table.conditional(
            self.table.resource.put_item,
            Item={"pk": tenant_pk(tenant_id), "sk": f"NOTICE#{key}", "at": now_iso()},
            ConditionExpression="attribute_not_exists(pk)",
        )
        return written is not None

    def scheduled_month(self, tenant_id: str, month: str) -> dict[str, Any] | None:
        """The month's claim: {"export_id", "claimed_at"} of the scheduled export that holds it, or None."""
        item = self.table.get(tenant_pk(tenant_id), _scheduled_month(month), consistent=True)
        return (
            None
            if item is None
            else {"export_id": item["export_id"], "claimed_at": float(item.get("claimed_at", 0))}
        )

    def claim_scheduled_month(
        self, tenant_id: str, month: str, export_id: str, replacing: str | None = None
    ) -> bool:
        """At most one scheduled export per tenant and month, even if the event comes twice.

        `replacing` takes over a claim whose export never started (conditioned on that export id, so two
        deliveries cannot both take it over)."""
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if replacing is None
            else {"ConditionExpression": "export_id = :old", "ExpressionAttributeValues": {":old": replacing}}
        )
        written = self.table.conditional(
            self.table.resource.put_item,
            Item={
                "pk": tenant_pk(tenant_id),
                "sk": _scheduled_month(month),
                "export_id": export_id,
                "created_at": now_iso(),
                "claimed_at": Decimal(str(round(time.time(), 3))),
            },
            **condition,
        )
        return written is not None

    def release_scheduled_month(self, tenant_id: str, month: str, export_id: str) -> None:
        """Give the month back (its start failed), unless another delivery holds it by now."""
        self.table.conditional(
            self.table.resource.delete_item,
            Key={"pk": tenant_pk(tenant_id), "sk": _scheduled_month(month)},
            ConditionExpression="export_id = :me",
            ExpressionAttributeValues={":me": export_id},
        )
