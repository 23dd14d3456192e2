"""A way forward for a finished export: roll it back again, or resume it (the API's use cases).

Both run in the export's state machine (an execution named `<export id>-<action>-<n>`), like the export
itself: the request only claims the tenant's single running slot, marks the record RUNNING again and
starts the run, so the work gets Step Functions' retries, the console's history and the push queue.
"""

from __future__ import annotations

from typing import Any

from ..errors import AlreadyExported, ExportInProgress, ExportNotResumable, NotFound
from ..observability import logger
from ..records import ExportPhase, ExportRecord, ExportStatus, RecoveryAction
from .resume import trips_taken_by_others
from .services import Services

ROLLBACK, RESUME = RecoveryAction.ROLLBACK, RecoveryAction.RESUME
# What each action starts from; from any other finished status it has nothing to do (or cannot run).
STARTS_FROM = {
    ROLLBACK: (ExportStatus.COMPLETED, ExportStatus.ROLLBACK_INCOMPLETE),
    RESUME: (ExportStatus.ROLLBACK_INCOMPLETE,),
}
PHASE = {ROLLBACK: ExportPhase.ROLLING_BACK, RESUME: ExportPhase.RESUMING}


def request(
    services: Services, tenant_id: str, export_id: str, action: RecoveryAction, user: str
) -> tuple[bool, dict[str, Any]]:
    """(started, answer): started is False when there was nothing to do (each action is idempotent)."""
    store = services.store.exports
    record = store.get_export(tenant_id, export_id)
    if record is None:
        raise NotFound(f"no export {export_id} for this company")
    if record.running:
        return _already_running(record, action)
    if record.status not in STARTS_FROM[action]:
        if action is RESUME and record.status is not ExportStatus.COMPLETED:
            raise ExportNotResumable(
                f"export {export_id} is {record.status.value}: none of its salary lines is in PowerOffice Go, "
                "so there is nothing to resume; start the same period again instead"
            )
        return False, _answer(record, action)  # already rolled back / already complete: nothing changes
    if action is RESUME:
        others = trips_taken_by_others(services, tenant_id, record)
        if others:
            raise AlreadyExported(
                f"trips of export {export_id} were exported again by {', '.join(others)}; resuming would pay them "
                "twice. Roll that export back first, or roll this one back",
                [
                    {
                        "code": "ALREADY_EXPORTED",
                        "message": "Trips already exported",
                        "items": [{"exports": others}],
                    }
                ],
            )
    attempt = 1 + sum(1 for entry in record.history if entry.get("outcome") == "STARTED")
    arn = services.runs.execution_arn(export_id, action.value, attempt)
    try:
        before = store.claim_recovery(
            tenant_id,
            export_id,
            PHASE[action],
            STARTS_FROM[action],
            {
                "recovery_action": action,
                "recovery_by": user,
                "execution_arn": arn,
                "finished_before": record.finished_at or "",
            },
            {"action": action.value, "by": user, "outcome": "STARTED", "execution_arn": arn},
        )
    except ExportInProgress:
        again = store.get_export(tenant_id, export_id)
        if again is not None and again.running:
            return _already_running(again, action)  # a second click while the first one's run starts
        raise
    if before is None:  # its status changed meanwhile (another request got there first): look again
        return request(services, tenant_id, export_id, action, user)
    try:
        services.runs.start(tenant_id, export_id, action.value, attempt)
    except Exception as error:
        store.finish_export(
            tenant_id,
            export_id,
            before.status,
            {"phase": ExportPhase.DONE, "execution_arn": before.execution_arn},
            history={
                "action": action.value,
                "by": user,
                "outcome": "NOT_STARTED",
                "message": type(error).__name__,
            },
        )
        raise
    logger.info(
        "export recovery started",
        extra={"tenant_id": tenant_id, "export_id": export_id, "action": action.value},
    )
    return True, {"export_id": export_id, "status": ExportStatus.RUNNING.value, "action": action.value}


def _already_running(record: ExportRecord, action: RecoveryAction) -> tuple[bool, dict[str, Any]]:
    if record.recovery_action is action:
        return True, {
            "export_id": record.export_id,
            "status": ExportStatus.RUNNING.value,
            "action": action.value,
        }
    raise ExportInProgress(f"export {record.export_id} is still running; wait until it ends")


def _answer(record: ExportRecord, action: RecoveryAction) -> dict[str, Any]:
    return {"export_id": record.export_id, "status": record.status.value, "action": action.value}
