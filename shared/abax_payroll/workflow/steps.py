"""The state machine's forward steps: fetch (a piece), validate, group, complete, and marking a failure (the push: push.py)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..domain.documentation import documentation_rows
from ..domain.documentation import report_parts as report_parts_of
from ..domain.ledger import held_trips
from ..domain.money import ZERO, fmt2
from ..domain.period import Period
from ..domain.problems import summarized
from ..domain.rates import RateTable
from ..errors import (
    ExportValidationFailed,
    PayrollError,
    PushFailed,
    SourceChanged,
    SourceUnavailable,
)
from ..observability import logger, metrics
from ..records import (
    ExportError,
    ExportPhase,
    ExportRecord,
    ExportStatus,
    PlannedLine,
    RecoveryAction,
    error_message,
)
from . import fetching, lookups
from .planning import PreparedPlan, lookups_from_json, lookups_to_json, months_of, prepare_plan
from .rollback import kept_left_behind, lines_left_in_go
from .services import Services


def _record(services: Services, tenant_id: str, export_id: str) -> ExportRecord:
    record = services.store.exports.get_export(tenant_id, export_id)
    if record is None:
        raise LookupError(f"export {export_id} of tenant {tenant_id} has no record")
    return record


def _period(record: ExportRecord) -> Period:
    return record.period.parsed()


def fetch(services: Services, tenant_id: str, export_id: str, remaining_s: float) -> dict[str, Any]:
    """One piece of reading the period from ABAX (the state machine loops until `done`).

    The export's snapshot is taken here, once, at its start: Validate and Group build every line from it,
    so what is pushed is what ABAX said when the export started, however long the fetch takes.
    """
    record = _record(services, tenant_id, export_id)
    # Written with the first cursor (no write of its own); later pieces find it stored.
    result = fetching.fetch_piece(
        services, tenant_id, export_id, remaining_s, initial=fetching.new_snapshot(_period(record), "export")
    )
    logger.info("ABAX read", extra={"export_id": export_id, **result})
    return result


def _prepare(
    services: Services, tenant_id: str, export_id: str, record: ExportRecord, lookups: Any = None
) -> PreparedPlan:
    period = _period(record)
    snapshots = services.store.snapshots
    snapshot = snapshots.get(tenant_id, export_id)
    if snapshot is None or snapshot["status"] != "READY":
        raise SourceUnavailable("the export's trips were not read from ABAX to the end")
    batch = fetching.read_trips(snapshots, tenant_id, export_id, period)
    try:
        return prepare_plan(
            services,
            tenant_id,
            period,
            record.logbook_ids,
            exclude_export=export_id,
            lookups=lookups,
            batch=batch,
        )
    except PayrollError as error:
        if error.status >= 500:
            raise SourceUnavailable(error.detail) from None
        raise


def _kept_problems(
    services: Services, tenant_id: str, export_id: str, problems: list[dict[str, Any]]
) -> dict[str, Any]:
    """The record's fields for an export's problems: a summary within the item's 400 KB, and when that had to
    cut anything, the whole list in S3 beside the documentation report (its key on the record)."""
    summary, cut = summarized(problems)
    fields: dict[str, Any] = {"problems": summary}
    if cut:
        fields["problems_key"] = services.store.reports.put_problems(tenant_id, export_id, problems)
    return fields


def validate(services: Services, tenant_id: str, export_id: str, run: str | None = None) -> dict[str, Any]:
    """`run`: the execution this step works for; every write below is refused once the export moved on."""
    record = _record(services, tenant_id, export_id)  # created in phase VALIDATING: this step runs first
    # The pusher's answer from PowerOffice Go (the LookUp task, workflow/lookups.py): this step asks Go
    # nothing. Without one (an export started before LookUp existed), it asks Go itself.
    saved = services.store.exports.get_lookups(tenant_id, export_id)
    answered = lookups.answered(saved)
    refused: dict[str, str] | None = saved.get("refused") if saved and answered else None
    if refused is None:
        try:
            prepared = _prepare(
                services,
                tenant_id,
                export_id,
                record,
                lookups_from_json(saved) if saved and answered else None,
            )
        except SourceUnavailable:
            raise
        except PayrollError as error:
            refused = {"code": error.code, "detail": error.detail}
    if refused is not None:
        problems = [{"code": refused["code"], "severity": "error", "message": refused["detail"], "items": []}]
        services.store.exports.finish_export(
            tenant_id,
            export_id,
            ExportStatus.VALIDATION_FAILED,
            _kept_problems(services, tenant_id, export_id, problems),
            run=run,
        )
        raise ExportValidationFailed(refused["detail"])
    plan = prepared.plan
    if not plan.ready:
        problems = [problem.to_dict() for problem in plan.problems]
        services.store.exports.finish_export(
            tenant_id,
            export_id,
            ExportStatus.VALIDATION_FAILED,
            _kept_problems(services, tenant_id, export_id, problems),
            run=run,
        )
        metrics.add_metric(name="ExportsValidationFailed", unit=MetricUnit.Count, value=1)
        codes = ", ".join(problem.code for problem in plan.problems)
        raise ExportValidationFailed(f"{len(plan.problems)} problem(s): {codes}")
    # One write for Group: what PowerOffice Go answered, and the fingerprint of the logbooks validated.
    # The line count and amounts travel in the same write, so the export shows the checked figures (in place
    # of the preview's it started with) while it is still checked.
    total = sum((line.amount for line in plan.lines), ZERO)
    tax_free = sum((line.tax_free_amount for line in plan.lines), ZERO)
    # Only Group of the same run reads what this writes: a check (no transaction, which would double the
    # write's cost on every export) keeps a stopped run from writing it; nothing reads it once the run moved on.
    services.store.exports.ensure_current_run(tenant_id, export_id, run)
    services.store.exports.put_lookups(
        tenant_id,
        export_id,
        {
            **lookups_to_json(prepared),
            "source_hash": prepared.source_hash,
            "line_count": len(plan.lines),
            "total_amount": fmt2(total),
            "tax_free_amount": fmt2(tax_free),
            "taxable_amount": fmt2(total - tax_free),
        },
    )
    return {"logbooks": len(plan.logbooks), "trips": len(plan.trip_ids), "lines": len(plan.lines)}


def group(services: Services, tenant_id: str, export_id: str, run: str | None = None) -> dict[str, Any]:
    record = _record(services, tenant_id, export_id)
    # The ledger and ABAX are read again (they could have changed); PowerOffice Go's pay items and employees
    # are taken from Validate, which spares requests under the rate limit all tenants share.
    saved = services.store.exports.get_lookups(tenant_id, export_id) or {}
    prepared = _prepare(services, tenant_id, export_id, record, lookups_from_json(saved) if saved else None)
    plan = prepared.plan
    if prepared.source_hash != saved.get("source_hash") or not plan.ready:
        raise SourceChanged(
            "the logbooks or PowerOffice Go data changed between validation and grouping; start the export again"
        )
    # The trips are claimed before the first line is sent; when the export ends short of COMPLETED, the
    # ledger keeps only the trips of the lines that exist in PowerOffice Go (domain.ledger). Each line names
    # its trips by their position in the month's claimed list.
    month_of = {trip.trip_id: logbook.month for logbook in plan.logbooks for trip in logbook.trips}
    trips_of: list[dict[str, list[str]]] = []
    for draft in plan.lines:
        by_month: dict[str, list[str]] = defaultdict(list)
        for trip_id in draft.trip_ids:
            by_month[month_of[trip_id]].append(trip_id)
        trips_of.append(by_month)
    trips_by_month = held_trips(trips_of)
    position = {
        month: {trip_id: at for at, trip_id in enumerate(trip_ids)}
        for month, trip_ids in trips_by_month.items()
    }
    lines: list[PlannedLine] = []
    for index, draft in enumerate(plan.lines):
        trips = {
            month: [position[month][trip_id] for trip_id in trip_ids]
            for month, trip_ids in trips_of[index].items()
        }
        pay_item = prepared.pay_items[draft.pay_item_code]
        employee = prepared.employees[draft.employee_number]
        fields = draft.post_fields(pay_item)
        lines.append(
            PlannedLine(
                **draft.to_dict(),
                index=index,
                employee_id=employee.id,
                pay_item_id=pay_item.id,
                ref=draft.external_import_reference(export_id),
                comment=draft.comment(),
                fields={name: str(value) for name, value in fields.items()},
                trips=trips,
            )
        )
    size = services.settings.push_chunk_size
    chunks = [lines[start : start + size] for start in range(0, len(lines), size)]
    # The line chunks and report parts are read only once the record says PUSHING, which the fenced write at the
    # end of this step says: a stopped run's chunks (written after this check) are never read, its ledger claim
    # (fenced, below) never lands.
    exports = services.store.exports
    exports.ensure_current_run(tenant_id, export_id, run)
    services.store.lines.put_line_chunks(tenant_id, export_id, chunks)
    names = {number: employee.name for number, employee in prepared.employees.items()}
    report_parts = services.store.reports.put_parts(
        tenant_id,
        export_id,
        report_parts_of(
            documentation_rows(
                plan.logbooks,
                plan.lines,
                prepared.codes,
                prepared.rates or RateTable.default(),
                prepared.tax_free or RateTable.default_tax_free(),
                names,
            ),
            services.settings.report_part_rows,
        ),
    )
    services.store.ledger.put_ledger(
        tenant_id, export_id, trips_by_month, exports.run_fence(tenant_id, export_id, run)
    )
    total = sum((Decimal(line.amount) for line in lines), ZERO)
    tax_free = sum((Decimal(line.tax_free_amount or line.amount) for line in lines), ZERO)
    exports.update_export(
        tenant_id,
        export_id,
        {
            "phase": ExportPhase.PUSHING,
            "logbook_count": len(plan.logbooks),
            "trip_count": len(plan.trip_ids),
            "line_count": len(lines),
            "chunk_count": len(chunks),
            "total_amount": fmt2(total),
            "tax_free_amount": fmt2(tax_free),
            "taxable_amount": fmt2(total - tax_free),
            "totals_source": "checked",
            "ledger_months": sorted(trips_by_month),
            "report_parts": report_parts,
            # The warnings (errors stopped it in Validate), kept as the record can hold them.
            **_kept_problems(
                services, tenant_id, export_id, [warning.to_dict() for warning in plan.warnings]
            ),
        },
        run=run,
    )
    return {"chunks": list(range(len(chunks))), "line_count": len(lines)}


def complete(services: Services, tenant_id: str, export_id: str, run: str | None = None) -> dict[str, Any]:
    record = _record(services, tenant_id, export_id)
    created = services.store.lines.get_created(tenant_id, export_id)
    expected = record.line_count
    if len(created) != expected:
        raise PushFailed(f"{expected - len(created)} of {expected} salary lines were not created")
    fields: dict[str, Any] = {"phase": ExportPhase.DONE, "lines_pushed": len(created)}
    history = None
    if record.recovery_action is RecoveryAction.RESUME:
        # The earlier failure is history now: the entry keeps what it was, the record shows a whole export.
        rollback = record.rollback or {}
        left = rollback.get("left_behind_count", len(rollback.get("left_behind") or []))
        fields.update({"error": None, "rollback": None})
        history = {
            "action": RecoveryAction.RESUME.value,
            "by": record.recovery_by,
            "outcome": ExportStatus.COMPLETED.value,
            "created": expected - left,
            "earlier_error": record.error.message if record.error else None,
        }
    services.store.exports.finish_export(
        tenant_id, export_id, ExportStatus.COMPLETED, fields, history=history, run=run
    )
    metrics.add_metric(name="ExportsCompleted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="SalaryLinesCreated", unit=MetricUnit.Count, value=len(created))
    logger.info("export completed", extra={"export_id": export_id, "lines": len(created)})
    return {"status": ExportStatus.COMPLETED.value, "lines": len(created)}


def mark_failed(
    services: Services,
    tenant_id: str,
    export_id: str,
    state: dict[str, Any],
    run: str | None = None,
    history: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Anything unexpected: record it. Lines that may still exist make it ROLLBACK_INCOMPLETE, never FAILED.
    `history`: the entry the end adds (workflow/ended.py's); by default a user's recovery says how it ended.

    The lines it names are every line PowerOffice Go holds under the export's references, not only those whose
    ids reached the record: a push that died between creating lines and writing their ids, then a rollback that
    died before writing down what it found, leave lines only Go knows of.
    """
    record = _record(services, tenant_id, export_id)
    if not record.running:
        return {"status": record.status.value}
    exports = services.store.exports
    exports.ensure_current_run(tenant_id, export_id, run)  # a run that moved on asks Go nothing
    rollback_error = state.get("rollback_error")
    error = state.get("error") or rollback_error or {}
    created = services.store.lines.get_created(tenant_id, export_id)
    fields: dict[str, Any] = {"error": ExportError.of_state(error, "Error"), "deleting_until": None}
    also: list[dict[str, Any]] = []
    status: ExportStatus
    if rollback_error is not None or created or record.phase not in (None, ExportPhase.VALIDATING):
        left_behind, unasked = lines_left_in_go(services, tenant_id, record, created, run)
        fields["rollback"] = {
            "status": ExportStatus.ROLLBACK_INCOMPLETE.value,
            "error": error_message(rollback_error) if rollback_error else unasked,
            **kept_left_behind(services, tenant_id, export_id, left_behind),
        }
        status = ExportStatus.ROLLBACK_INCOMPLETE
        metrics.add_metric(name="RollbackIncomplete", unit=MetricUnit.Count, value=1)
    else:
        # The trips Group claimed are freed in the write that ends the export: freed before it, a claim of a
        # run stopped meanwhile could still land; freed after, a crash between would hold them for ever.
        status = ExportStatus.FAILED
        also = services.store.ledger.deletes(
            tenant_id, export_id, record.ledger_months or months_of(_period(record))
        )
        metrics.add_metric(name="ExportsFailed", unit=MetricUnit.Count, value=1)
    if history is None and (
        record.recovery_action is not None
        and record.history
        and record.history[-1].get("outcome") == "STARTED"
    ):
        # A user's rollback or resume that could not finish: its history says how it ended.
        history = {"action": record.recovery_action.value, "by": record.recovery_by, "outcome": status.value}
    exports.finish_export(tenant_id, export_id, status, fields, history=history, run=run, also=also)
    if status is ExportStatus.FAILED:
        free_trips_of_failed(services, tenant_id, record)
    return {"status": status.value}


def free_trips_of_failed(services: Services, tenant_id: str, record: ExportRecord) -> None:
    """A FAILED export holds no trip. The write that ended it freed the claims it had listed; a claim by Group
    of a run stopped meanwhile could land between that list and the write (the export still ran), and would
    hold the trips of an export that pays nothing for ever. From the FAILED write on, every claim of the run is
    refused (fenced), so one more look finds all there are. Idempotent: the end's event, delivered again after a
    crash here, runs it again (workflow/ended.py)."""
    months = record.ledger_months or months_of(_period(record))
    services.store.ledger.delete_ledger(tenant_id, record.export_id, months)
