"""The monthly export: on each tenant's chosen day, export the previous calendar month once.

The daily run only finds the tenants due and queues one start per tenant (`dispatch_monthly`); each start is
its own invocation (`start_scheduled`), so one tenant's failure or slowness touches no other. A start claims
the tenant's month first (a second delivery of the same day, or the next day's catch-up, starts nothing new);
the claim never outlives a start that failed: it is given back, and the failure is written into the
tenant's export list with its reason (FAILED, phase NOT_STARTED) and counted: `ScheduledStartsFailed`
(alarmed) for a fault, `ScheduledStartsRefused` (not alarmed; the company is e-mailed) for a reason only the
company can fix. A claim whose start died before it could do either is taken over once that start cannot be
running any more.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..domain.period import Period
from ..errors import PayrollError
from ..observability import logger, metrics
from ..records import ExportError, ExportPeriod, ExportPhase, ExportRecord, ExportStatus
from ..store import now_iso
from .services import Services

# Refusals only the company can put right: e-mailed to it, never in the operators' failure alarm.
REFUSED_BY_COMPANY = {"INTEGRATION_INACTIVE", "ABAX_INACTIVE", "ALREADY_EXPORTED", "EXPORT_IN_PROGRESS"}
# A claim whose export record was never written belongs to a start that died (a Lambda runs 15 minutes at most).
ABANDONED_CLAIM_SECONDS = 15 * 60


def dispatch_monthly(services: Services, today: date) -> dict[str, Any]:
    """Queue one start per tenant due today (or earlier this month: a missed or refused run catches up)."""
    period = Period.previous_month(today)
    month = period.start.strftime("%Y-%m")
    due = sorted(
        {
            tenant
            for day in range(1, min(today.day, 28) + 1)
            for tenant in services.store.tenants.tenants_scheduled_on(day)
        }
    )
    assert services.starts is not None
    services.starts.send(
        [
            {
                "tenant_id": tenant,
                "month": month,
                "from": period.start.isoformat(),
                "to": period.end.isoformat(),
            }
            for tenant in due
        ]
    )
    logger.info("scheduled starts queued", extra={"month": month, "tenants": len(due)})
    return {"month": month, "queued": len(due)}


def start_scheduled(services: Services, tenant_id: str, period: Period) -> dict[str, Any]:
    """Start one tenant's scheduled export of `period`, unless its month was already claimed.

    A refusal the user can act on (integration off, trips already exported, an export running) is recorded and
    not retried today; any other failure is recorded and raised, so the queue delivers the start again.
    """
    # Imported here: the daily Schedule function shares this module (functions/export/schedule.py) and never
    # starts an export, so its cold start does not load the export's use case (planning, the domain rules).
    # The ScheduledStart function imports them on its first message, every time: for it this only moves them.
    from .exports import new_export_id, start_export

    month = period.start.strftime("%Y-%m")
    export_id = new_export_id(services)
    if not _claim(services, tenant_id, month, export_id):
        return {
            "tenant_id": tenant_id,
            "month": month,
            "skipped": f"the export of {month} was already started",
        }
    try:
        start_export(
            services,
            tenant_id,
            period,
            None,
            "schedule",
            "schedule",
            export_id=export_id,
            leave_out_exported=True,
        )
    except PayrollError as error:
        _not_started(
            services, tenant_id, period, export_id, error.code, error.detail, error.code in REFUSED_BY_COMPANY
        )
        return {"tenant_id": tenant_id, "month": month, "export_id": export_id, "failed": error.code}
    except Exception as error:
        _not_started(
            services,
            tenant_id,
            period,
            export_id,
            "START_FAILED",
            f"the scheduled export did not start: {type(error).__name__}",
        )
        raise
    return {"tenant_id": tenant_id, "month": month, "export_id": export_id, "started": True}


def _claim(services: Services, tenant_id: str, month: str, export_id: str) -> bool:
    tenants = services.store.tenants
    for _ in range(3):
        held = tenants.scheduled_month(tenant_id, month)
        if held is None:
            if tenants.claim_scheduled_month(tenant_id, month, export_id):
                return True
        elif _claim_holds(services, tenant_id, held):
            return False
        elif tenants.claim_scheduled_month(tenant_id, month, export_id, replacing=held["export_id"]):
            return True
    return False  # other deliveries kept moving the claim: one of them has it


def _claim_holds(services: Services, tenant_id: str, held: dict[str, Any]) -> bool:
    """A claim holds while its export started (whatever became of it) or may still be starting."""
    record = services.store.exports.get_export(tenant_id, held["export_id"])
    if record is None:
        return time.time() - held["claimed_at"] < ABANDONED_CLAIM_SECONDS
    return record.phase is not ExportPhase.NOT_STARTED


def _not_started(
    services: Services,
    tenant_id: str,
    period: Period,
    export_id: str,
    code: str,
    message: str,
    refused: bool = False,
) -> None:
    """The tenant sees the failed start in its export list; the month is free again. A start the company must
    fix (`refused`) is e-mailed to it (once a month for each reason) and counted apart from the failures the
    operators' alarm counts."""
    now = now_iso()
    record = ExportRecord(
        export_id=export_id,
        tenant_id=tenant_id,
        status=ExportStatus.FAILED,
        phase=ExportPhase.NOT_STARTED,
        period=ExportPeriod.of(period),
        trigger="schedule",
        created_at=now,
        created_by="schedule",
        finished_at=now,
        error=ExportError(code=code, message=f"the scheduled export was not started: {message}"),
    )
    # False when start_export recorded the failure itself (the workflow did not start)
    services.store.exports.put_failed_start(record)
    month = period.start.strftime("%Y-%m")
    services.store.tenants.release_scheduled_month(tenant_id, month, export_id)
    if refused:
        metrics.add_metric(name="ScheduledStartsRefused", unit=MetricUnit.Count, value=1)
        if services.store.tenants.first_notice(tenant_id, f"{month}#{code}"):
            from .notifications import send_about  # as start_export above

            send_about(services, record)
    else:
        metrics.add_metric(name="ScheduledStartsFailed", unit=MetricUnit.Count, value=1)
    logger.warning(
        "scheduled export not started", extra={"tenant_id": tenant_id, "export_id": export_id, "code": code}
    )
