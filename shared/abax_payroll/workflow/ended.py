"""A run that ended where the state machine's own Catch could not see it.

Step Functions ends an execution without running any of its states when an admin stops it in the console
(ABORTED), when it passes the state machine's TimeoutSeconds (TIMED_OUT), or on an error no Catch handles
(FAILED by States.Runtime). Its export's record would say RUNNING for ever, and the company's single running
slot (the lock freed by the record's terminal status) would stay taken: no export, rollback or resume could
start again. EventBridge delivers Step Functions' "Execution Status Change" event of such an end to the
ExportSteps function, and this finishes the record the way the state machine would have:

- stopped before anything was sent (phase VALIDATING): FAILED, its trips free again ("Try again");
- stopped while pushing, rolling back or resuming: ROLLBACK_INCOMPLETE, naming the lines Go holds, so the
  export offers rollback (every line found by its ExternalImportReference is deleted) and resume (the missing
  lines are made). Nothing is deleted or sent on the user's behalf: the run was stopped, perhaps on purpose.

A chunk the pusher was pushing when the run stopped goes on until the pusher notices (within about a second,
workflow/push.py) and records what it made: while it is in flight, the end is not recorded yet
(`RunStillPushing`; EventBridge retries), so a rollback asked for afterwards sees every line that chunk made.
A rollback that was deleting lines does the same (`deleting_until`, its invocation's deadline;
`RunStillDeleting`): no DELETE of the stopped run lands after a resume counted the lines in Go. The end is
written on behalf of the run that ended (fenced by it), and from then on every write of that run's invocations
still going is refused (ExportStore.fence). The normal ends (the Fail states after a recorded outcome) arrive
here too and change nothing: their record is finished.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..errors import RunSuperseded
from ..observability import logger
from ..records import ExportError, ExportPhase, ExportRecord, ExportStatus
from ..store.snapshots import RUNNING
from . import fetching
from .rollback import kept_left_behind, lines_left_in_go
from .services import Services

STOPPED = {"ABORTED", "TIMED_OUT", "FAILED"}
# Not a Step Functions status: the reconciliation sweep's name for a claimed export whose run never started
# (workflow/reconcile.py); it ends the same way as a run stopped before it sent anything.
NEVER_STARTED = "NEVER_STARTED"
# The error each end is recorded with (the names Step Functions' own history uses).
ERRORS = {
    "ABORTED": "ExecutionAborted",
    "TIMED_OUT": "States.Timeout",
    "FAILED": "States.Runtime",
    NEVER_STARTED: "ExecutionNeverStarted",
}
WORDS = {
    "ABORTED": "was stopped (StopExecution, e.g. in the Step Functions console)",
    "TIMED_OUT": "ran past the state machine's time limit",
    "FAILED": "failed outside the steps that record an outcome",
    NEVER_STARTED: "never started (its start ended between the claim and StartExecution)",
}


class RunStillPushing(Exception):
    """The stopped run's chunk is still in flight at the pusher: record the end once it let go (retried)."""


class RunStillDeleting(Exception):
    """The stopped run's rollback may still delete lines in Go (its invocation's deadline has not passed):
    record the end once it is over (retried), so no DELETE of it lands after a resume looked at Go."""


def execution_ended(services: Services, detail: dict[str, Any]) -> dict[str, Any]:
    status = str(detail.get("status") or "")
    if status not in ERRORS:
        return {"outcome": "ignored", "status": status}
    try:
        run = json.loads(detail.get("input") or "{}")
    except ValueError:
        return {"outcome": "ignored", "reason": "input is not JSON"}
    tenant_id = run.get("tenant_id")
    if not tenant_id:
        return {"outcome": "ignored", "reason": "no tenant in the input"}
    cause = f"the run {detail.get('name') or ''} {WORDS[status]}".replace("  ", " ")
    if detail.get("cause"):
        cause += f": {str(detail['cause'])[:300]}"
    if run.get("kind") == "search":
        return _search_ended(services, tenant_id, str(run.get("preview_id") or ""), cause)
    export_id = str(run.get("export_id") or "")
    record = services.store.exports.get_export(tenant_id, export_id)
    if record is None or not record.running:
        if record is not None and record.status is ExportStatus.FAILED:
            # Delivered again after the end was written: the trips its Group may have claimed meanwhile are
            # freed again (steps.free_trips_of_failed), in case the first delivery died before it did so.
            from .steps import free_trips_of_failed

            free_trips_of_failed(services, tenant_id, record)
        return {"outcome": "nothing to do", "export_id": export_id}
    if record.execution_arn and detail.get("executionArn") not in (None, record.execution_arn):
        # An earlier run of this export (its record has moved on to a rollback or resume since).
        return {"outcome": "nothing to do", "export_id": export_id, "reason": "not the export's current run"}
    if services.store.push_queue.in_flight(tenant_id, export_id):
        raise RunStillPushing(
            f"export {export_id}: its last chunk still pushes; the end is recorded after it"
        )
    error = ExportError(code=ERRORS[status], message=cause)
    history = {"action": "stopped", "by": "Step Functions", "outcome": status, "message": cause}
    # The end is written on behalf of the run that ended (fenced by it): a rollback or resume that took the
    # export over meanwhile keeps it. From here on that run's invocations still going write nothing more.
    run = record.execution_arn
    try:
        return _record_end(services, tenant_id, export_id, record, run, status, error, cause, history)
    except RunSuperseded:
        return {"outcome": "nothing to do", "export_id": export_id, "reason": "the export moved on meanwhile"}


def _record_end(
    services: Services,
    tenant_id: str,
    export_id: str,
    record: ExportRecord,
    run: str | None,
    status: str,
    error: ExportError,
    cause: str,
    history: dict[str, Any],
) -> dict[str, Any]:
    if record.deleting_until is not None and record.deleting_until > time.time():
        raise RunStillDeleting(
            f"export {export_id}: its rollback still deletes; the end is recorded after it"
        )
    if record.phase in (None, ExportPhase.VALIDATING):
        # Nothing was sent: the same end as mark_failed's (the trips claimed by Group, if it got that far, are free).
        from .steps import mark_failed

        mark_failed(
            services, tenant_id, export_id, {"error": {"Error": error.code, "Cause": cause}}, run, history
        )
        logger.warning(
            "export run ended before it sent anything", extra={"export_id": export_id, "status": status}
        )
        return {"outcome": ExportStatus.FAILED.value, "export_id": export_id}
    created = services.store.lines.get_created(tenant_id, export_id)
    # Named by what PowerOffice Go holds under the export's references: a line whose id never reached the
    # record (its invocation died, or was still deleting when the run stopped) is named as it is.
    left_behind, unasked = lines_left_in_go(
        services,
        tenant_id,
        record,
        created,
        run,
        ("the run was stopped before the export ended", "RUN_STOPPED"),
    )
    # Go was listed above; a rollback of this run that began deleting since (its `deleting_until` written after
    # the record was read) makes this write fail: the end is recorded again once it is over, from a new list.
    _finish_unless_deleting(
        services,
        tenant_id,
        export_id,
        run,
        ExportStatus.ROLLBACK_INCOMPLETE,
        {
            "error": error,
            "phase": ExportPhase.DONE,
            "rollback": {
                "status": ExportStatus.ROLLBACK_INCOMPLETE.value,
                "error": cause if unasked is None else f"{cause}; {unasked}",
                **kept_left_behind(services, tenant_id, export_id, left_behind),
            },
        },
        history,
    )
    logger.warning(
        "export run ended while it pushed; lines may be in PowerOffice Go",
        extra={"export_id": export_id, "status": status, "lines_in_go": len(left_behind)},
    )
    return {"outcome": ExportStatus.ROLLBACK_INCOMPLETE.value, "export_id": export_id}


def _finish_unless_deleting(
    services: Services,
    tenant_id: str,
    export_id: str,
    run: str | None,
    status: ExportStatus,
    fields: dict[str, Any],
    history: dict[str, Any],
) -> None:
    """finish_export on behalf of `run`, only while no rollback may be deleting lines in Go; RunStillDeleting
    when one may (retried), RunSuperseded when the export moved on."""
    exports = services.store.exports
    try:
        exports.finish_export(
            tenant_id, export_id, status, fields, history=history, run=run, nobody_deleting=True
        )
    except RunSuperseded:
        now = exports.get_export(tenant_id, export_id)
        if (
            now is not None
            and now.running
            and now.execution_arn == run
            and now.deleting_until is not None
            and now.deleting_until > time.time() - 1
        ):
            raise RunStillDeleting(
                f"export {export_id}: its rollback began deleting while the end was written; recorded after it"
            ) from None
        raise


def _search_ended(services: Services, tenant_id: str, preview_id: str, cause: str) -> dict[str, Any]:
    """A search whose run stopped: its preview resource says FAILED instead of reading for ever."""
    snapshot = services.store.snapshots.get(tenant_id, preview_id) if preview_id else None
    if snapshot is None or snapshot.get("status") != RUNNING:
        return {"outcome": "nothing to do", "preview_id": preview_id}
    fetching.fail(services.store.snapshots, tenant_id, preview_id, cause)
    return {"outcome": "FAILED", "preview_id": preview_id}
