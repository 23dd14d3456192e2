"""The state machine's forward steps: fetch (a piece), validate, group, push (a chunk), complete, and marking a failure."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
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
    PushLeaseBusy,
    SourceChanged,
    SourceUnavailable,
)
from ..observability import logger, metrics
from ..poweroffice import PowerOfficeError, SalaryLinePost
from ..records import (
    CreatedIds,
    ExportError,
    ExportPhase,
    ExportRecord,
    ExportStatus,
    PlannedLine,
    RecoveryAction,
    error_message,
)
from ..store.leases import WAITER_HEARTBEAT_S
from . import fetching
from .planning import PreparedPlan, lookups_from_json, lookups_to_json, months_of, prepare_plan
from .rollback import kept_left_behind, lines_left_in_go
from .services import Services

# Created ids are written once per chunk, when it stops (done or failed): one small write. Nothing is lost
# by waiting: a line whose id never reached the record (the process died mid-chunk) is found again by its
# ExternalImportReference, by a retried POST (PowerOffice answers with the existing line) and by rollback.
LEASE_WAIT_S = 60.0
# How often an export waiting for the push lease reads it. The next in line: every LEASE_POLL_S. One further
# back cannot be served before each chunk ahead of it has held the lease (at least about LEASE_POLL_PER_PLACE_S:
# one line at PowerOffice's 10 requests/s and the handover), so it reads once per that many places, at most
# every LEASE_POLL_MAX_S (well within its heartbeat): a hundred waiters read about 40 times a second, not 2,000.
LEASE_POLL_S = 0.05
LEASE_POLL_PER_PLACE_S = 0.25
LEASE_POLL_MAX_S = 5.0
# Near the head of the line (the holder and at most one more ahead) a waiter stays up to LEASE_WAIT_S longer:
# leaving then (PushLeaseBusy, retried a second later by a new invocation) would leave the lease idle when
# its turn comes, and everyone behind it waits for it.
LEASE_STAY_AHEAD = 2


def lease_poll_interval(ahead: int) -> float:
    """Seconds between two reads of the push lease by a waiter with `ahead` exports before it."""
    if ahead <= 1:
        return LEASE_POLL_S
    return min(LEASE_POLL_MAX_S, LEASE_POLL_PER_PLACE_S * (ahead - 1))


# Progress while a chunk is pushed: a small counter item (one write unit) written after evenly spread numbers
# of created lines (progress_marks), so the count moves through the chunk instead of jumping at its end, where
# the chunk's ids are written anyway. The number of writes is bounded by the lines, not the clock: at most
# PROGRESS_WRITES_PER_LINE per line (at least PROGRESS_MIN_WRITES for a chunk with room), which keeps the
# workflow within its write budget (<= 0.2 units per line) at any push rate, and the benchmark measures
# exactly what a push at PowerOffice's 10 requests/s pays.
PROGRESS_WRITES_PER_LINE = 0.03
PROGRESS_MIN_WRITES = 2


def progress_marks(lines: int) -> list[int]:
    """After how many created lines of a chunk of `lines` its progress counter is written (e.g. 100 lines:
    after 25, 50 and 75; 16 lines: after 6 and 11); never at the chunk's end."""
    writes = max(PROGRESS_MIN_WRITES, int(lines * PROGRESS_WRITES_PER_LINE))
    marks = {math.ceil(lines * k / (writes + 1)) for k in range(1, writes + 1)}
    return sorted(mark for mark in marks if 0 < mark < lines)


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
    try:
        prepared = _prepare(services, tenant_id, export_id, record)
    except SourceUnavailable:
        raise
    except PayrollError as error:
        problems = [{"code": error.code, "severity": "error", "message": error.detail, "items": []}]
        services.store.exports.finish_export(
            tenant_id,
            export_id,
            ExportStatus.VALIDATION_FAILED,
            _kept_problems(services, tenant_id, export_id, problems),
            run=run,
        )
        raise ExportValidationFailed(error.detail) from None
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


@contextmanager
def push_lease(services: Services, export_id: str):  # type: ignore[no-untyped-def]
    """PowerOffice's rate limit belongs to our subscription key: one push at a time across all tenants."""
    deadline = time.monotonic() + LEASE_WAIT_S
    seconds = services.settings.push_lease_seconds
    leases = services.store.leases
    said_waiting = 0.0  # when this export last told the lease it waits in line (0: not yet)
    while True:
        # Reads are cheap; a refused conditional write is not. Whoever waited longest goes first.
        lease = leases.peek("PUSH")
        ahead = leases.ahead_of(export_id, lease)
        if ahead == 0:
            handover = leases.acquire_lease("PUSH", export_id, seconds)
            if handover is not None:
                leases.forget_stale_waiters("PUSH", lease)
                break
        elif time.monotonic() - said_waiting > WAITER_HEARTBEAT_S:
            leases.wait_in_line("PUSH", export_id)
            said_waiting = time.monotonic()
        now = time.monotonic()
        if now > deadline and (ahead > LEASE_STAY_AHEAD or now > deadline + LEASE_WAIT_S):
            raise PushLeaseBusy("another export is pushing salary lines; waiting for the shared rate limit")
        time.sleep(lease_poll_interval(ahead))
    # The previous pusher may have been another Lambda instance: its last second counts at PowerOffice.
    limiter = services.limiter()
    limiter.seed(handover)
    try:
        yield
    finally:
        leases.release_lease("PUSH", export_id, limiter.handover())


def push_chunk(services: Services, tenant_id: str, export_id: str, chunk: int) -> dict[str, Any]:
    store = services.store.lines
    lines = store.get_line_chunk(tenant_id, export_id, chunk)
    created = store.get_created(tenant_id, export_id)
    pending = [line for line in lines if line.index not in created]
    if not pending:  # a retried chunk whose lines all exist already
        return {"chunk": chunk, "created": 0}
    sent_before = len(created)
    exports = services.store.exports
    push = _ChunkPush(pending, lambda sent: exports.put_progress(tenant_id, export_id, sent_before + sent))
    record = _record(services, tenant_id, export_id)
    # The key (a secret read) before the lease, so the lease is held no longer than the chunk needs (at month
    # end it changes hands chunk by chunk). The ids are written before it is let go: a run stopped meanwhile
    # is recorded (workflow/ended.py) only after the release, with every line this chunk made.
    with services.poweroffice_for_export(tenant_id, record) as poweroffice, push_lease(services, export_id):
        try:
            push.run(poweroffice, services.settings.push_concurrency)
        finally:
            store.record_created(tenant_id, export_id, chunk, push.created)
    if push.failure is not None:
        line, error = push.failure
        if not isinstance(error, PowerOfficeError):
            raise error
        logger.warning(
            "salary line not created",
            extra={"export_id": export_id, "line": line.index, "status": error.status},
        )
        # The facts of the refusal, for the web app to say in its user's language (a failure costs this one
        # write; the successful path writes nothing more).
        services.store.exports.update_export(
            tenant_id,
            export_id,
            {
                "push_failure": {
                    "employee_number": line.employee_number,
                    "employee_name": line.employee_name,
                    "pay_item_code": line.pay_item_code,
                    "amount": line.amount,
                    "status": error.status,
                }
            },
        )
        raise PushFailed(
            f"PowerOffice Go refused the salary line for employee {line.employee_number} "
            f"({line.employee_name}), pay item {line.pay_item_code}: {error.title}"
            + (f" ({error.detail})" if error.detail else "")
        )
    # Between chunks the API counts the ids recorded per chunk; within one, the counter _ChunkPush writes.
    return {"chunk": chunk, "created": len(push.created)}


class _ChunkPush:
    """A chunk's lines POSTed by a few workers at once, paced by the shared limiter.

    Every created id is kept, whichever worker got it; after the first failure no new line is started,
    the ones in flight finish (and are kept, so a rollback deletes them), and the failure is reported.
    """

    def __init__(self, pending: list[PlannedLine], report: Callable[[int], None] | None = None) -> None:
        self._pending = iter(pending)
        self._lock = threading.Lock()
        self.created: CreatedIds = {}
        self.failure: tuple[PlannedLine, BaseException] | None = None
        self._report = report
        self._marks = progress_marks(len(pending)) if report is not None else []
        self._reporting = False

    def run(self, poweroffice: Any, concurrency: int) -> None:
        workers = [
            threading.Thread(target=self._work, args=(poweroffice,), daemon=True)
            for _ in range(concurrency - 1)
        ]
        for worker in workers:
            worker.start()
        self._work(poweroffice)
        for worker in workers:
            worker.join()

    def _next(self) -> PlannedLine | None:
        with self._lock:
            return None if self.failure is not None else next(self._pending, None)

    def _work(self, poweroffice: Any) -> None:
        while (line := self._next()) is not None:
            try:
                fields = {name.lower(): Decimal(value) for name, value in line.fields.items()}
                salary_line = poweroffice.create_salary_line(
                    SalaryLinePost(
                        employee_id=line.employee_id,
                        pay_item_id=line.pay_item_id,
                        comment=line.comment,
                        external_import_reference=line.ref,
                        **fields,
                    )
                )
            except BaseException as error:  # noqa: BLE001 - reported by the caller, after every worker stopped
                with self._lock:
                    if self.failure is None or line.index < self.failure[0].index:
                        self.failure = (line, error)
                return
            with self._lock:
                self.created[line.index] = salary_line.id
                sent = len(self.created)
                # One writer at a time; a mark passed meanwhile is written with the next line.
                due = bool(self._marks) and not self._reporting and sent >= self._marks[0]
                if due:
                    self._reporting = True
                    while self._marks and self._marks[0] <= sent:
                        self._marks.pop(0)
            if due:
                self._progress(sent)

    def _progress(self, sent: int) -> None:
        """Write the running count (by one worker at a time, outside the lock); a failed write only skips it."""
        assert self._report is not None
        try:
            self._report(sent)
        except Exception:  # noqa: BLE001 - progress is for the eyes; the push must not fail for it
            logger.warning("progress not written", exc_info=True)
        finally:
            with self._lock:
                self._reporting = False


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
    return {"status": status.value}
