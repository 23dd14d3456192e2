"""Preview, start, list and read exports (the API's use cases)."""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from typing import Any

from ..domain.documentation import report_csv, report_header
from ..domain.logbooks import build_logbooks
from ..domain.money import ZERO, fmt2
from ..domain.period import Period
from ..domain.problems import summarized
from ..errors import AlreadyExported, ExportInProgress, NotFound, NothingPaid
from ..observability import logger
from ..records import (
    ExportCredentials,
    ExportError,
    ExportPeriod,
    ExportPhase,
    ExportRecord,
    ExportStatus,
    PlannedLine,
    RecoveryAction,
)
from ..store import now_iso
from . import previews
from .pages import page
from .planning import PreparedPlan, months_of
from .services import Services

# Where an export's line count and amounts come from (ExportRecord.totals_source).
TOTALS_FROM_PREVIEW = "preview"
TOTALS_CHECKED = "checked"


# Lines in one answer (the export's detail, the preview; the rest page by page): about 650 bytes each, so a page
# stays far below Lambda's 6 MB response (a 5,000-driver month has about 23,000 lines, 10 to 15 MB).
LINES_PAGE = 1000


def new_export_id(services: Services) -> str:
    """Sortable by creation time (the list is newest first) and a valid Step Functions execution name.

    Milliseconds are part of it, so two exports started within the same second still sort by time.
    """
    now = services.clock()
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


def preview_body(prepared: PreparedPlan) -> dict[str, Any]:
    plan = prepared.plan
    selected = {logbook.logbook_id for logbook in plan.logbooks}
    logbooks = [
        {
            "logbook_id": logbook.logbook_id,
            "driver": {
                "id": logbook.driver.driver_id,
                "name": logbook.driver.name,
                "employee_number": logbook.driver.employee_number,
            },
            "vehicle_id": logbook.vehicle_id,
            "vehicle_alias": logbook.vehicle_alias,
            "month": logbook.month,
            "trips": len(logbook.trips),
            "km": fmt2(logbook.km),
            "already_exported": logbook.logbook_id in plan.already_exported,
            "exported_in": plan.already_exported.get(logbook.logbook_id, []),
            "selected": logbook.logbook_id in selected,
        }
        for logbook in plan.all_logbooks
    ]
    lines = preview_lines(prepared)
    return {
        "period": {"from": plan.period.start.isoformat(), "to": plan.period.end.isoformat()},
        "logbooks": logbooks,
        "lines": lines[:LINES_PAGE],
        "lines_next_offset": LINES_PAGE if len(lines) > LINES_PAGE else None,
        "totals": _totals(lines),
        "problems": preview_problems(prepared),
        "ready": plan.ready,
    }


def preview_lines(prepared: PreparedPlan) -> list[dict[str, Any]]:
    names = {code: item.name for code, item in prepared.pay_items.items()}
    return [
        {**line.to_dict(), "pay_item_name": names.get(line.pay_item_code)} for line in prepared.plan.lines
    ]


# A search's problems whole while they are not much (so the web app counts and deselects from them as they are);
# past this, a summary of each like an export's (its first items, item_count, truncated) and the rest paged.
PREVIEW_PROBLEMS_BYTES = 1024 * 1024
PREVIEW_PROBLEM_ITEMS = 100


def preview_problems(prepared: PreparedPlan) -> list[dict[str, Any]]:
    problems = [problem.to_dict() for problem in prepared.plan.problems]
    whole = [{**problem, "item_count": len(problem["items"]), "truncated": False} for problem in problems]
    if len(json.dumps(whole, default=str, separators=(",", ":"))) <= PREVIEW_PROBLEMS_BYTES:
        return whole
    return summarized(problems, PREVIEW_PROBLEM_ITEMS, PREVIEW_PROBLEMS_BYTES)[0]


def _totals(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals of the lines, with the tax-free and the taxable part, in all and per employee."""
    by_employee: dict[str, Any] = {}
    total, tax_free = ZERO, ZERO
    for line in lines:
        amount = Decimal(line["amount"])
        free = Decimal(line.get("tax_free_amount") or line["amount"])
        total += amount
        tax_free += free
        entry = by_employee.setdefault(
            line["employee_number"],
            {
                "employee_number": line["employee_number"],
                "employee_name": line["employee_name"],
                "amount": ZERO,
                "tax_free": ZERO,
            },
        )
        entry["amount"] += amount
        entry["tax_free"] += free
    return {
        "lines": len(lines),
        "amount": fmt2(total),
        "tax_free_amount": fmt2(tax_free),
        "taxable_amount": fmt2(total - tax_free),
        "employees": [
            {
                "employee_number": entry["employee_number"],
                "employee_name": entry["employee_name"],
                "amount": fmt2(entry["amount"]),
                "tax_free_amount": fmt2(entry["tax_free"]),
                "taxable_amount": fmt2(entry["amount"] - entry["tax_free"]),
            }
            for entry in by_employee.values()
        ],
    }


def start_export(
    services: Services,
    tenant_id: str,
    period: Period,
    logbook_ids: list[str] | None,
    trigger: str,
    user: str,
    export_id: str | None = None,
    leave_out_exported: bool = False,
) -> dict[str, Any]:
    """Claim the tenant's single running slot, then start the state machine (execution name = export id).

    `leave_out_exported` (the schedule): logbooks holding trips of an earlier export are left out and the
    rest exported; refused (ALREADY_EXPORTED) only when no logbook is left.
    """
    integration = services.active_integration(tenant_id)
    services.require_abax(tenant_id)  # a 409 now, not an export that fails once started
    running = services.store.exports.running_export(tenant_id)
    if running is not None:  # said first: the running export's trips may or may not be in the ledger yet
        raise ExportInProgress(f"export {running} is still running for this company; wait until it ends")
    logbook_ids = _refuse_already_exported(services, tenant_id, period, logbook_ids, leave_out_exported)
    export_id = export_id or new_export_id(services)
    # What the user confirmed on the search screen, shown from the first second (computed by the server from
    # that search, never taken from the request); the export's own check replaces them seconds later.
    confirmed = previews.confirmed_totals(services, tenant_id, period, logbook_ids)
    record = ExportRecord(
        export_id=export_id,
        tenant_id=tenant_id,
        status=ExportStatus.RUNNING,
        phase=ExportPhase.VALIDATING,  # the workflow's first step; written here, it costs no write of its own
        execution_arn=services.runs.execution_arn(export_id),
        period=ExportPeriod.of(period),
        logbook_ids=logbook_ids,
        trigger=trigger,
        created_at=now_iso(),
        created_by=user,
        # The key the lines will be created with: push and rollback read this version of the secret, so a
        # key activated meanwhile can neither receive this export's lines nor answer its deletes.
        credentials=ExportCredentials(
            poweroffice_secret_version=integration.secret_version,
            poweroffice_client_id=integration.client_id,
            poweroffice_client_name=integration.client_name,
        ),
        **({**confirmed, "totals_source": TOTALS_FROM_PREVIEW} if confirmed else {}),
    )
    services.store.exports.claim_export(record)
    try:
        execution_arn = services.runs.start(tenant_id, export_id)
    except Exception as error:
        services.store.exports.finish_export(
            tenant_id,
            export_id,
            ExportStatus.FAILED,
            {
                "phase": ExportPhase.NOT_STARTED,
                "error": ExportError(
                    code="START_FAILED", message=f"the workflow did not start: {type(error).__name__}"
                ),
            },
        )
        raise
    if execution_arn != record.execution_arn:  # the documented form; else keep what AWS answered
        services.store.exports.update_export(tenant_id, export_id, {"execution_arn": execution_arn})
    logger.info("export started", extra={"tenant_id": tenant_id, "export_id": export_id, "trigger": trigger})
    return {"export_id": export_id, "status": ExportStatus.RUNNING.value}


def _refuse_already_exported(
    services: Services,
    tenant_id: str,
    period: Period,
    logbook_ids: list[str] | None,
    leave_out_exported: bool = False,
) -> list[str] | None:
    """No double payment: answer 409 at once when the selection holds trips of an earlier export; the
    selection to export (with `leave_out_exported`, the logbooks holding no exported trip).

    The trips are the period's latest search (the user searches before exporting), or what can be read
    within this call; when neither has the whole period, Validate still refuses them (ALREADY_EXPORTED).
    """
    exported = services.store.ledger.exported_trips(tenant_id, months_of(period))
    if not exported:
        return logbook_ids
    batch = previews.ready_trips(services, tenant_id, period)
    if batch is None:
        status, _ = previews.search(services, tenant_id, period, logbook_ids, plan=False)
        if status != 200:
            return logbook_ids
        batch = previews.ready_trips(services, tenant_id, period)
        if batch is None:
            return logbook_ids
    wanted = set(logbook_ids) if logbook_ids is not None else None
    blocked, free = [], []
    for logbook in build_logbooks(batch.trips, period):
        if wanted is not None and logbook.logbook_id not in wanted:
            continue
        exports = sorted({exported[trip.trip_id] for trip in logbook.trips if trip.trip_id in exported})
        if exports:
            blocked.append({**logbook.facts(), "exports": exports})
        else:
            free.append(logbook.logbook_id)
    if blocked and leave_out_exported and free:
        return sorted(free)
    if blocked:
        params = {"count": len(blocked), "from": period.start.isoformat(), "to": period.end.isoformat()}
        raise AlreadyExported(
            f"{len(blocked)} logbook(s) in {period.label()} hold trips that were already exported; "
            "leave them out (logbook_ids) or roll back the earlier export first",
            [
                {
                    "code": "ALREADY_EXPORTED",
                    "message": "Trips already exported",
                    "items": blocked,
                    "params": params,
                }
            ],
            params,
        )
    return logbook_ids


def list_exports(services: Services, tenant_id: str, limit: int, next_token: str | None) -> dict[str, Any]:
    records, token = services.store.exports.list_exports(tenant_id, limit, next_token)
    for record in records:
        if record.running:  # at most one per tenant
            _running_progress(
                services,
                tenant_id,
                record,
                len(services.store.lines.get_created(tenant_id, record.export_id)),
            )
    return {"exports": [summary(record) for record in records], "next_token": token}


def _running_progress(services: Services, tenant_id: str, record: ExportRecord, recorded: int) -> None:
    """How far a running export is: the ids recorded per chunk, or the counter written within a chunk if it is
    ahead; while it is checked, the line count and amount its validation found (they travel with its lookups),
    else those of the preview the user confirmed (copied in at the start)."""
    store = services.store.exports
    record.lines_pushed = max(
        recorded,
        store.get_progress(tenant_id, record.export_id) if record.phase is ExportPhase.PUSHING else 0,
    )
    if record.phase is ExportPhase.VALIDATING and record.totals_source != TOTALS_CHECKED:
        found = store.get_lookups(tenant_id, record.export_id) or {}
        if found.get("line_count") is not None:
            record.line_count = int(found["line_count"])
            record.total_amount = found.get("total_amount") or record.total_amount
            record.tax_free_amount = found.get("tax_free_amount") or record.tax_free_amount
            record.taxable_amount = found.get("taxable_amount") or record.taxable_amount
            record.totals_source = TOTALS_CHECKED


def summary(record: ExportRecord) -> dict[str, Any]:
    return {
        "export_id": record.export_id,
        "status": record.status.value,
        "period": record.period.stored(),
        "trigger": record.trigger,
        "phase": record.phase.value if record.phase else None,
        "line_count": record.line_count,
        "lines_pushed": record.lines_pushed,
        "total_amount": record.total_amount,
        "tax_free_amount": record.tax_free_amount,
        "taxable_amount": record.taxable_amount,
        "totals_source": _totals_source(record),
        "created_at": record.created_at,
        "created_by": record.created_by,
        "finished_at": record.finished_at,
        # An export a user undid (a rollback asked for from COMPLETED) is not a failure: who did it.
        "undone_by": record.recovery_by
        if record.status is ExportStatus.ROLLED_BACK
        and record.recovery_action is RecoveryAction.ROLLBACK
        and record.recovering_from is ExportStatus.COMPLETED
        else None,
    }


def _totals_source(record: ExportRecord) -> str | None:
    """`preview` while the figures are the confirmed preview's, `checked` once the export planned its lines."""
    if record.totals_source:
        return record.totals_source
    return TOTALS_CHECKED if record.line_count or record.phase not in (None, ExportPhase.VALIDATING) else None


def _error(record: ExportRecord) -> dict[str, Any] | None:
    """The export's error: its stable code, the English message, and the facts (`params`) to say it with.

    A Step Functions error name (PushFailed) also comes as a problem code (PUSH_FAILED); `message` no
    longer repeats the name in front of the text.
    """
    if record.error is None:
        return None
    code, message = record.error.code, record.error.message
    if message.startswith(f"{code}: "):
        message = message[len(code) + 2 :]
    params = dict(record.push_failure or {}) if code == "PushFailed" else {}
    return {"code": code, "problem_code": _STEP_ERRORS.get(code, code), "message": message, "params": params}


# Step Functions error names (the ASL's ErrorEquals) and the stable problem code each is reported as.
_STEP_ERRORS = {
    "PushFailed": "PUSH_FAILED",
    "SourceUnavailable": "SOURCE_UNAVAILABLE",
    "SourceChanged": "SOURCE_CHANGED",
    "AbaxInactive": "ABAX_INACTIVE",
    "States.Timeout": "TIMED_OUT",
    "ExecutionAborted": "RUN_STOPPED",  # stopped in the Step Functions console (workflow/ended.py)
    "ExecutionNeverStarted": "START_FAILED",  # claimed, never started (workflow/reconcile.py)
    "States.Runtime": "TASK_FAILED",
    "States.TaskFailed": "TASK_FAILED",
    "Lambda.Unknown": "TASK_FAILED",
    "Runtime.ExitError": "TASK_FAILED",  # the function's process died (out of memory, killed)
    "Sandbox.Timedout": "TASK_FAILED",  # the function ran past its timeout
}


def problem_code(error_code: str) -> str:
    """The stable problem code an export's error is reported as (PushFailed -> PUSH_FAILED)."""
    return _STEP_ERRORS.get(error_code, error_code)


def get_export(services: Services, tenant_id: str, export_id: str) -> dict[str, Any]:
    record = services.store.exports.get_export(tenant_id, export_id)
    if record is None:
        raise NotFound(f"no export {export_id} for this company", params={"export_id": export_id})
    lines = services.store.lines.get_lines(tenant_id, export_id)
    pushed = sum(1 for line in lines if line.salary_line_id)
    if record.running:
        _running_progress(services, tenant_id, record, pushed)
        pushed = record.lines_pushed
    shown = lines[:LINES_PAGE]
    return {
        **summary(record),
        "logbook_ids": record.logbook_ids,
        "lines": [_export_line(line) for line in shown],
        "lines_next_offset": len(shown) if len(shown) < len(lines) else None,
        "lines_pushed": pushed,
        "problems": [_problem_summary(problem) for problem in record.problems],
        "error": _error(record),
        "rollback": record.rollback,
        "history": record.history,
        "actions": ACTIONS.get(record.status, []),
        "execution_arn": record.execution_arn,
        "updated_at": record.updated_at,
    }


def export_lines(
    services: Services, tenant_id: str, export_id: str, offset: int, limit: int
) -> dict[str, Any]:
    """A page of an export's lines (the detail has the first LINES_PAGE): a 23,000-line export is about 15 MB."""
    record = services.store.exports.get_export(tenant_id, export_id)
    if record is None:
        raise NotFound(f"no export {export_id} for this company", params={"export_id": export_id})
    total = record.line_count  # set by Group, with the chunks
    page = services.store.lines.get_lines_page(tenant_id, export_id, offset, limit) if offset < total else []
    return {
        "export_id": export_id,
        "line_count": total,
        "offset": offset,
        "lines": [_export_line(line) for line in page],
        "next_offset": offset + len(page) if page and offset + len(page) < total else None,
    }


def left_behind(
    services: Services, tenant_id: str, export_id: str, offset: int, limit: int
) -> dict[str, Any]:
    """The salary lines the export's rollback left in PowerOffice Go, page by page: the record names the first
    of a long list, the whole is in S3."""
    record = services.store.exports.get_export(tenant_id, export_id)
    if record is None:
        raise NotFound(f"no export {export_id} for this company", params={"export_id": export_id})
    rollback = record.rollback or {}
    key = rollback.get("left_behind_key")
    lines = services.store.reports.get_list(key) if key else list(rollback.get("left_behind") or [])
    return {"export_id": export_id, **page(lines, offset, limit, "left_behind", "left_behind_count")}


def _export_line(line: PlannedLine) -> dict[str, Any]:
    return {
        "employee_number": line.employee_number,
        "employee_name": line.employee_name,
        "categories": line.categories,
        "pay_item_code": line.pay_item_code,
        "quantity": line.quantity,
        "rate": line.rate,
        "amount": line.amount,
        "trip_count": line.trip_count,
        "first_date": line.first_date,
        "last_date": line.last_date,
        "kind": line.kind,
        "tax_free_rate": line.tax_free_rate,
        "tax_free_amount": line.tax_free_amount or line.amount,
        "taxable_amount": line.taxable_amount or "0.00",
        "paid_rate": line.paid_rate,
        "pay_item_rate": line.pay_item_rate,
        "warnings": line.warnings,
        "comment": line.comment,
        "external_import_reference": line.ref,
        "salary_line_id": line.salary_line_id,
    }


def _problem_summary(problem: dict[str, Any]) -> dict[str, Any]:
    """A problem as the record keeps it; records from before summaries held every item."""
    items = problem.get("items") or []
    return {
        **problem,
        "item_count": problem.get("item_count", len(items)),
        "truncated": bool(problem.get("truncated")),
    }


def problem_items(
    services: Services, tenant_id: str, export_id: str, code: str, offset: int, limit: int
) -> dict[str, Any]:
    """One problem of an export whole (message, params), its items from `offset` on, at most `limit` of them.

    The record keeps a summary of each problem; when it had to cut one, the whole list is in S3.
    """
    record = services.store.exports.get_export(tenant_id, export_id)
    if record is None:
        raise NotFound(f"no export {export_id} for this company", params={"export_id": export_id})
    problems = (
        services.store.reports.get_problems(record.problems_key) if record.problems_key else record.problems
    )
    problem = next((problem for problem in problems if problem.get("code") == code), None)
    if problem is None:
        raise NotFound(
            f"export {export_id} has no problem {code}", params={"export_id": export_id, "code": code}
        )
    return {
        **{name: value for name, value in problem.items() if name not in ("items", "truncated")},
        "export_id": export_id,
        **page(list(problem.get("items") or []), offset, limit, "items", "item_count"),
    }


# The ways forward a finished export offers: rollback and resume are POST /exports/{id}/<action>; retry is a
# new export of the same period and logbooks (POST /exports).
ACTIONS = {
    ExportStatus.COMPLETED: ["rollback"],
    ExportStatus.ROLLBACK_INCOMPLETE: ["rollback", "resume"],
    ExportStatus.ROLLED_BACK: ["retry"],
    ExportStatus.FAILED: ["retry"],
}


# An export that ended with nothing in PowerOffice Go (refused, failed, rolled back, undone) paid nothing: its
# report would list amounts that could be filed as proof of a payment that never happened.
NOTHING_PAID = frozenset({ExportStatus.VALIDATION_FAILED, ExportStatus.ROLLED_BACK, ExportStatus.FAILED})
PARTLY_UNDONE_NOTE = "Eksporten ble delvis angret: rapporten viser bare turene på lønnslinjene som fortsatt er i PowerOffice Go."


def _report_part(
    services: Services, tenant_id: str, export_id: str, part: int
) -> tuple[Any, dict[str, Any], int]:
    """The export record, one part of its report (rows, carry, continued) and how many parts there are."""
    record = services.store.exports.get_export(tenant_id, export_id)
    if record is None:
        raise NotFound(f"no export {export_id} for this company")
    if record.status in NOTHING_PAID:
        raise NothingPaid(
            f"export {export_id} ended {record.status.value} and left nothing in PowerOffice Go, so it has no "
            "documentation report: nothing was paid",
            params={"export_id": export_id, "status": record.status.value},
        )
    # New exports: parts in S3 (how many on the record); older ones: one S3 object, or REPORT# items: one part.
    if record.report_parts:
        parts = record.report_parts
        if part >= parts:
            raise NotFound(
                f"the report of export {export_id} has {parts} part(s), 0 to {parts - 1}; no part {part}"
            )
        return record, services.store.reports.get_part(tenant_id, export_id, part), parts
    if record.report_key:
        rows: list[dict[str, Any]] | None = services.store.reports.get(record.report_key)
    else:
        rows = services.store.lines.get_report(tenant_id, export_id)
    if rows is None:
        raise NotFound(f"export {export_id} planned no salary lines, so it has no documentation report")
    if part > 0:
        raise NotFound(f"the report of export {export_id} has 1 part, 0; no part {part}")
    return record, {"rows": rows, "carry": None, "continued": False}, 1


def _lines_of(
    services: Services, tenant_id: str, export_id: str, rows: list[dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """The salary lines a part's rows went into, by index: only the line chunks that hold them are read (rows
    are in employee order, and so are the lines, so a part names a narrow range of them)."""
    indexes = [index for row in rows for index in row.get("lines", [])]
    if not indexes:
        return {}
    low, high = min(indexes), max(indexes)
    return {
        line.index: line.stored() | {"salary_line_id": line.salary_line_id}
        for line in services.store.lines.get_lines_page(tenant_id, export_id, low, high - low + 1)
    }


def documentation_report(services: Services, tenant_id: str, export_id: str, part: int = 0) -> dict[str, Any]:
    """One part of the documentation report of an export: every trip per employee and month with the line it
    went into (`parts`: how many; the rows of all parts in order are the whole report)."""
    record, content, parts = _report_part(services, tenant_id, export_id, part)
    lines = _lines_of(services, tenant_id, export_id, content["rows"])
    rows = _still_paid(record, content["rows"], lines)
    for row in rows:
        row["salary_lines"] = [
            {
                "pay_item_code": lines[index]["pay_item_code"],
                "salary_line_id": lines[index].get("salary_line_id"),
                "external_import_reference": lines[index]["ref"],
            }
            for index in row.pop("lines", [])
            if index in lines
        ]
    return {
        **summary(record),
        "company": record.credentials.poweroffice_client_name if record.credentials else None,
        "covers": "lines_in_poweroffice" if record.status is ExportStatus.ROLLBACK_INCOMPLETE else "all",
        "part": part,
        "parts": parts,
        "rows": rows,
    }


def _still_paid(
    record: Any, rows: list[dict[str, Any]], lines: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows the report proves: all, or after a partial rollback those on lines still in PowerOffice Go (a
    deleted line's id is forgotten), each naming only those lines."""
    if record.status is not ExportStatus.ROLLBACK_INCOMPLETE:
        return rows
    kept = []
    for row in rows:
        in_go = [index for index in row.get("lines", []) if lines.get(index, {}).get("salary_line_id")]
        if in_go:
            kept.append({**row, "lines": in_go})
    return kept


def documentation_csv(services: Services, tenant_id: str, export_id: str, part: int = 0) -> tuple[str, int]:
    """One part of the report as CSV, and how many parts: part 0 begins with the BOM and the header row, the
    others carry rows only, so the parts joined in order are the CSV of the whole report."""
    record, content, parts = _report_part(services, tenant_id, export_id, part)
    lines = _lines_of(services, tenant_id, export_id, content["rows"])
    partly_undone = record.status is ExportStatus.ROLLBACK_INCOMPLETE
    text = report_csv(
        _still_paid(record, content["rows"], lines),
        lines,
        first=part == 0,
        # A partly undone export's sums are of the rows kept: the carry of the parts before is not.
        carry=None if partly_undone else content.get("carry"),
        continued=bool(content.get("continued")) and not partly_undone,
        header=report_header(
            record.credentials.poweroffice_client_name if record.credentials else None,
            record.period.stored(),
            export_id,
            record.status.value,
            PARTLY_UNDONE_NOTE if partly_undone else None,
        ),
    )
    return text, parts
