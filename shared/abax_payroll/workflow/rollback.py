"""The compensation: delete every salary line an export created, and say exactly what could not be deleted.

It runs after a failed push (the saga's catch), and again when a user asks (POST /exports/{id}/rollback):
after the lines that blocked it were released in PowerOffice Go, or to undo a COMPLETED export whose lines
are not yet in a payroll. Either way the ledger ends holding exactly the trips of the lines left in Go.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from .. import crashpoints
from ..domain.ledger import held_trips
from ..domain.lines import reference_prefix
from ..errors import CredentialsGone, RunSuperseded
from ..observability import logger, metrics
from ..poweroffice import PowerOfficeError, SalaryLineLocked
from ..records import ExportError, ExportPhase, ExportRecord, ExportStatus, PlannedLine, RecoveryAction
from ..store import now_iso
from .services import Services

RECOVERED_CHUNK = 99_999  # where ids found by reference (not recorded by the push) are written down
NOT_FOUND = "not_found"
LOCKED_REASON = "taken into a payroll in PowerOffice Go (locked); delete or correct it there"
ROLLBACK = RecoveryAction.ROLLBACK.value
# Lines left in PowerOffice Go the record names (about 230 bytes each); past this, the whole list is an S3 object
# beside the documentation report: 23,000 lines in a payroll would be 5 MB, beyond DynamoDB's 400 KB item, and
# the rollback's own write would fail, leaving the export RUNNING and the company's lock held.
LEFT_BEHIND_KEPT = 100
HISTORY_LEFT_KEPT = 20


def kept_left_behind(
    services: Services,
    tenant_id: str,
    export_id: str,
    left_behind: list[dict[str, Any]],
    name: str = "left-behind",
    kept: int = LEFT_BEHIND_KEPT,
) -> dict[str, Any]:
    """`left_behind` (the first `kept`), `left_behind_count` and, when that is not all, `left_behind_key`."""
    fields: dict[str, Any] = {"left_behind": left_behind[:kept], "left_behind_count": len(left_behind)}
    if len(left_behind) > kept:
        fields["left_behind_key"] = services.store.reports.put_list(tenant_id, export_id, name, left_behind)
    return fields


def lines_left_in_go(
    services: Services,
    tenant_id: str,
    record: ExportRecord,
    created: dict[int, int],
    run: str | None = None,
    reason: tuple[str, str] = ("the rollback could not run to its end", "ROLLBACK_UNFINISHED"),
) -> tuple[list[dict[str, Any]], str | None]:
    """The salary lines an export that could not finish leaves in PowerOffice Go, as left-behind entries, and
    None; or, when Go cannot be asked, the lines whose ids the record holds and why that may not be all.

    What Go holds under the export's references decides: a line whose id never reached the record (its push
    died between creating and recording) is named and written down, an id whose line is gone (a rollback
    deleted it before it died) is forgotten; both writes fenced by `run`."""
    store, export_id = services.store, record.export_id
    lines = {line.index: line for line in store.lines.get_lines(tenant_id, export_id)}
    by_reference = {line.ref: line for line in lines.values()}
    targets: dict[int, PlannedLine | None] = {
        salary_line_id: lines.get(index) for index, salary_line_id in created.items()
    }
    unasked: str | None = None
    try:
        with services.poweroffice_for_export(tenant_id, record) as poweroffice:
            in_go = [
                salary_line
                for salary_line in poweroffice.find_salary_lines_by_reference_prefix(
                    reference_prefix(export_id)
                )
                if not salary_line.is_deleted_by_user
            ]
    except (CredentialsGone, PowerOfficeError) as failure:
        unasked = (
            f"PowerOffice Go could not be asked which lines exist ({failure}); lines whose ids never reached "
            "the record may exist too: a rollback finds them by their reference"
        )
    else:
        fence = store.exports.run_fence(tenant_id, export_id, run)
        found = {
            salary_line.id: by_reference.get(salary_line.external_import_reference or "")
            for salary_line in in_go
        }
        store.lines.forget_created(tenant_id, export_id, [sid for sid in targets if sid not in found], fence)
        recovered = {
            line.index: sid for sid, line in found.items() if line is not None and sid not in targets
        }
        store.lines.record_created(tenant_id, export_id, RECOVERED_CHUNK, recovered, fence)
        targets = found
    return [
        {**_describe(salary_line_id, line), "reason": reason[0], "reason_code": reason[1]}
        for salary_line_id, line in sorted(targets.items())
    ], unasked


def rollback(
    services: Services,
    tenant_id: str,
    export_id: str,
    error: dict[str, Any] | None,
    action: str | None = None,
    run: str | None = None,
    remaining_s: float | None = None,
) -> dict[str, Any]:
    """`run`: the execution this rollback works for, and `remaining_s` its invocation's time left.

    Before its first DELETE the record says until when this invocation may act in Go (`deleting_until`, its
    Lambda deadline): a run stopped meanwhile is recorded as ended only after that (workflow/ended.py), so no
    DELETE of a stopped run lands after a resume looked at Go. Should the export move on all the same (the
    invocation outlived its deadline), it deletes nothing more and writes nothing (RunSuperseded): a slow
    rollback that outlived its run would otherwise delete a resume's lines, free their trips and offer Try
    again, and they would be paid twice."""
    store = services.store
    record = store.exports.get_export(tenant_id, export_id)
    if record is None:
        raise LookupError(f"export {export_id} of tenant {tenant_id} has no record")
    if run is not None and record.execution_arn != run:
        store.exports.ensure_current_run(tenant_id, export_id, run)  # raises: another run's export now
    if not record.running:  # a repeated rollback of a finished export changes nothing
        return {"status": record.status.value}
    fence = store.exports.run_fence(tenant_id, export_id, run)
    asked = action == ROLLBACK  # a user's rollback of a finished export, not the saga's catch
    who = record.recovery_by if asked else "system"
    lines = {line.index: line for line in store.lines.get_lines(tenant_id, export_id)}
    by_reference = {line.ref: line for line in lines.values()}
    created = store.lines.get_created(tenant_id, export_id)
    targets: dict[int, PlannedLine | None] = {
        salary_line_id: lines.get(index) for index, salary_line_id in created.items()
    }

    deleted: list[int] = []
    left_behind: list[dict[str, Any]] = []
    cannot_run: str | None = None
    try:
        poweroffice = services.poweroffice_for_export(tenant_id, record)
    except CredentialsGone as gone:
        # Never delete with another key: there, every DELETE would answer 404 and the lines would stay. Even
        # with no id recorded, a create whose answer never arrived may have left a line: incomplete, not done.
        cannot_run = str(gone)
        left_behind = [
            {**_describe(salary_line_id, line), "reason": cannot_run, "reason_code": "CREDENTIALS_GONE"}
            for salary_line_id, line in sorted(targets.items())
        ]
    else:
        with poweroffice:
            crashpoints.reached("rollback.started")
            prefix = reference_prefix(export_id)
            in_go = poweroffice.find_salary_lines_by_reference_prefix(prefix)
            if asked and record.recovering_from is ExportStatus.COMPLETED:
                refused = _lines_in_a_payroll(in_go, by_reference)
                if refused:
                    # Undoing a completed export while part of it is in a payroll would leave half of it
                    # behind: name those lines and change nothing, not even when the export finished (so
                    # not finish_export, which stamps now).
                    store.exports.update_export(
                        tenant_id,
                        export_id,
                        {
                            "status": ExportStatus.COMPLETED,
                            "phase": ExportPhase.DONE,
                            "finished_at": record.finished_before or now_iso(),
                        },
                        run=run,
                        history={
                            "action": ROLLBACK,
                            "by": who,
                            "outcome": "REFUSED",
                            **kept_left_behind(
                                services,
                                tenant_id,
                                export_id,
                                refused,
                                f"refused-{len(record.history)}",
                                HISTORY_LEFT_KEPT,
                            ),
                        },
                    )
                    logger.info(
                        "rollback refused: lines in a payroll",
                        extra={"export_id": export_id, "locked": len(refused)},
                    )
                    return {"status": ExportStatus.COMPLETED.value, "refused": len(refused)}
            # A create whose answer never arrived (timeout, crash) left no id in the record: find it by its
            # reference, and write it down first, so the record knows every line even if the delete fails.
            recovered: dict[int, int] = {}
            for salary_line in in_go:
                line = by_reference.get(salary_line.external_import_reference or "")
                if salary_line.id not in targets and line is not None:
                    recovered[line.index] = salary_line.id
                targets.setdefault(salary_line.id, line)
            store.lines.record_created(tenant_id, export_id, RECOVERED_CHUNK, recovered, fence)
            until: float | None = None
            if run is not None and remaining_s is not None:
                until = time.time() + remaining_s
                deadline = {"deleting_until": Decimal(int(until) + 1)}
                store.exports.update_export(tenant_id, export_id, deadline, run=run)
            answered_404: dict[int, PlannedLine | None] = {}
            still_current = partial(_still_deleting, store.exports, tenant_id, export_id, run, until)
            for salary_line_id, line in sorted(targets.items()):
                still_current()  # before every DELETE: a rollback that outlived its run deletes no more
                outcome = _delete(poweroffice, salary_line_id, line)
                if outcome is None:
                    deleted.append(salary_line_id)
                elif isinstance(outcome, dict):
                    left_behind.append(outcome)
                else:
                    answered_404[salary_line_id] = line
            if answered_404:
                confirmed, unconfirmed = _confirm_gone(poweroffice, prefix, answered_404, still_current)
                deleted += confirmed
                left_behind += unconfirmed
    store.lines.forget_created(tenant_id, export_id, deleted, fence)

    status = (
        ExportStatus.ROLLED_BACK
        if not left_behind and cannot_run is None
        else ExportStatus.ROLLBACK_INCOMPLETE
    )
    result: dict[str, Any] = {
        "status": status.value,
        "deleted": len(deleted),
        **kept_left_behind(services, tenant_id, export_id, left_behind),
    }
    if cannot_run is not None:
        result["error"] = cannot_run
    fields: dict[str, Any] = {
        "phase": ExportPhase.DONE,
        "rollback": result,
        "lines_pushed": len(left_behind),
        "deleting_until": None,
    }
    if not asked:  # a user's rollback keeps the failure that stopped the export in view
        fields["error"] = ExportError.of_state(error, "PushFailed")
    history = {
        "action": ROLLBACK,
        "by": who,
        "outcome": status.value,
        "deleted": len(deleted),
        "left_behind": len(left_behind),
    }
    if cannot_run is None:  # before the lock is free; without Go's answer every trip stays held
        _cut_ledger(services, tenant_id, export_id, record, lines, targets, left_behind, fence)
    store.exports.finish_export(tenant_id, export_id, status, fields, history=history, run=run)
    if status is ExportStatus.ROLLED_BACK:
        metrics.add_metric(name="ExportsRolledBack", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="RollbackIncomplete", unit=MetricUnit.Count, value=1)
    logger.info(
        "export rolled back",
        extra={"export_id": export_id, "status": status, "deleted": len(deleted), "left": len(left_behind)},
    )
    return {"status": status.value, "deleted": len(deleted), "left_behind": len(left_behind)}


def _still_deleting(
    exports: Any, tenant_id: str, export_id: str, run: str | None, until: float | None
) -> None:
    """RunSuperseded once the export left the run, or once the invocation is past the deadline it wrote down
    (`deleting_until`: the run's end may be recorded from then on, so a DELETE after it could land unseen)."""
    if until is not None and time.time() >= until:
        raise RunSuperseded(f"export {export_id}: the rollback is past its deadline and deletes no more")
    exports.ensure_current_run(tenant_id, export_id, run)


def _delete(poweroffice: Any, salary_line_id: int, line: PlannedLine | None) -> dict[str, Any] | str | None:
    """None when Go deleted it (200), NOT_FOUND for a 404 (to be confirmed), else the left-behind entry."""
    described = _describe(salary_line_id, line)
    try:
        answer = poweroffice.delete_salary_line_answer(salary_line_id)
    except SalaryLineLocked:
        return {**described, "reason": LOCKED_REASON, "reason_code": "LOCKED"}
    except PowerOfficeError as failure:
        return {
            **described,
            "reason": f"PowerOffice Go refused the delete: {failure.title}",
            "reason_code": "DELETE_REFUSED",
            "status": failure.status,
        }
    return None if answer == "deleted" else NOT_FOUND


def _confirm_gone(
    poweroffice: Any,
    prefix: str,
    answered_404: dict[int, PlannedLine | None],
    still_current: Callable[[], None],
) -> tuple[list[int], list[dict[str, Any]]]:
    """A 404 counts as gone only when Go no longer lists the line under its ExternalImportReference.

    With another company's key, or behind a confused proxy, every DELETE answers 404 while the lines stay:
    counted as deleted, the export would free its trips and the next export would pay them twice. A line
    still listed is deleted once more by the id Go lists; if that fails too, it is named.
    """
    try:
        listed = [
            line
            for line in poweroffice.find_salary_lines_by_reference_prefix(prefix)
            if not line.is_deleted_by_user
        ]
    except PowerOfficeError as failure:
        reason = f"PowerOffice Go answered 404 to the delete, and listing the lines to confirm it failed ({failure.title})"
        return [], [
            {**_describe(salary_line_id, line), "reason": reason, "reason_code": "DELETE_UNCONFIRMED"}
            for salary_line_id, line in sorted(answered_404.items())
        ]
    by_id = {line.id: line for line in listed}
    by_reference = {line.external_import_reference: line for line in listed}
    confirmed: list[int] = []
    unconfirmed: list[dict[str, Any]] = []
    for salary_line_id, line in sorted(answered_404.items()):
        still = by_id.get(salary_line_id) or (by_reference.get(line.ref) if line is not None else None)
        if still is None:
            confirmed.append(salary_line_id)
            continue
        still_current()
        outcome = _delete(poweroffice, still.id, line)
        if outcome is None:
            confirmed.append(salary_line_id)
        elif isinstance(outcome, dict):
            unconfirmed.append(outcome)
        else:
            unconfirmed.append(
                {
                    **_describe(still.id, line),
                    "reason": "PowerOffice Go answered 404 to the delete, yet still lists the line",
                    "reason_code": "DELETE_UNCONFIRMED",
                }
            )
    return confirmed, unconfirmed


def _lines_in_a_payroll(in_go: list[Any], by_reference: dict[str, PlannedLine]) -> list[dict[str, Any]]:
    locked = sorted(
        (line for line in in_go if line.is_locked and not line.is_deleted_by_user), key=lambda line: line.id
    )
    return [
        {
            **_describe(line.id, by_reference.get(line.external_import_reference or "")),
            "reason": LOCKED_REASON,
            "reason_code": "LOCKED",
        }
        for line in locked
    ]


def _cut_ledger(
    services: Services,
    tenant_id: str,
    export_id: str,
    record: ExportRecord,
    lines: dict[int, PlannedLine],
    targets: dict[int, PlannedLine | None],
    left_behind: list[dict[str, Any]],
    fence: dict[str, Any] | None,
) -> None:
    """The export keeps exactly the trips of its lines still in PowerOffice Go; every other trip is free."""
    months = record.ledger_months or []
    if not left_behind:
        services.store.ledger.delete_ledger(tenant_id, export_id, months, fence)
        return
    remaining = [targets.get(item["salary_line_id"]) for item in left_behind]
    if any(line is None for line in remaining) or not all(line.trips for line in lines.values()):
        return  # a line we cannot tie to its trips (or a record from before lines knew them): keep every trip held
    services.store.ledger.hold_only(
        tenant_id, export_id, held_trips(line.trips for line in remaining if line), months, fence
    )


def _describe(salary_line_id: int, line: PlannedLine | None) -> dict[str, Any]:
    if line is None:
        return {"salary_line_id": salary_line_id}
    return {
        "salary_line_id": salary_line_id,
        "employee_number": line.employee_number,
        "employee_name": line.employee_name,
        "pay_item_code": line.pay_item_code,
        "amount": line.amount,
    }
