"""The monthly export: on each tenant's chosen day, export the previous calendar month once."""

from __future__ import annotations

from datetime import date
from typing import Any

from ..domain.period import Period
from ..errors import PayrollError
from ..observability import logger
from .exports import new_export_id, start_export
from .services import Services


def run_monthly(services: Services, today: date) -> dict[str, Any]:
    """Start the exports due today; a second delivery of the same event starts nothing new."""
    period = Period.previous_month(today)
    month = period.start.strftime("%Y-%m")
    started, skipped, failed = [], [], []
    # Days up to today, not only today: a run missed (or refused while another export ran) catches up.
    due = [tenant for day in range(1, min(today.day, 28) + 1) for tenant in services.store.tenants.tenants_scheduled_on(day)]
    for tenant_id in due:
        export_id = new_export_id(services)
        if not services.store.tenants.claim_scheduled_month(tenant_id, month, export_id):
            skipped.append({"tenant_id": tenant_id, "reason": f"the export of {month} was already started"})
            continue
        try:
            start_export(services, tenant_id, period, None, "schedule", "schedule", export_id=export_id)
            started.append({"tenant_id": tenant_id, "export_id": export_id})
        except PayrollError as error:
            # Let the next delivery (or tomorrow's run) try again when nothing was started.
            services.store.tenants.release_scheduled_month(tenant_id, month)
            failed.append({"tenant_id": tenant_id, "code": error.code, "reason": error.detail})
            logger.warning("scheduled export not started", extra={"tenant_id": tenant_id, "code": error.code})
    return {"month": month, "started": started, "skipped": skipped, "failed": failed}
