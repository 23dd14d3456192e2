"""The compensation: delete every salary line an export created, and say exactly what could not be deleted."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..domain.lines import reference_prefix
from ..observability import logger, metrics
from ..poweroffice import PowerOfficeError, SalaryLineLocked
from ..records import ExportError, ExportPhase, ExportStatus, PlannedLine
from .services import Services

RECOVERED_CHUNK = 99_999  # where ids found by reference (not recorded by the push) are written down
LOCKED_REASON = "taken into a payroll in PowerOffice Go (locked); delete or correct it there"


def rollback(services: Services, tenant_id: str, export_id: str, error: dict[str, Any] | None) -> dict[str, Any]:
    store = services.store
    record = store.exports.get_export(tenant_id, export_id)
    if record is None:
        raise LookupError(f"export {export_id} of tenant {tenant_id} has no record")
    if not record.running:  # a repeated rollback of a finished export changes nothing
        return {"status": record.status.value}
    lines = {line.index: line for line in store.lines.get_lines(tenant_id, export_id)}
    by_reference = {line.ref: line for line in lines.values()}
    created = store.lines.get_created(tenant_id, export_id)
    targets: dict[int, PlannedLine | None] = {salary_line_id: lines.get(index) for index, salary_line_id in created.items()}

    deleted: list[int] = []
    left_behind: list[dict[str, Any]] = []
    with services.poweroffice_for(tenant_id) as poweroffice:
        # A create whose answer never arrived (timeout, crash) left no id in the record: find it by its
        # reference, and write it down first, so the record knows every line even if the delete fails.
        recovered: dict[int, int] = {}
        for salary_line in poweroffice.find_salary_lines_by_reference_prefix(reference_prefix(export_id)):
            line = by_reference.get(salary_line.external_import_reference or "")
            if salary_line.id not in targets and line is not None:
                recovered[line.index] = salary_line.id
            targets.setdefault(salary_line.id, line)
        store.lines.record_created(tenant_id, export_id, RECOVERED_CHUNK, recovered)
        for salary_line_id, line in sorted(targets.items()):
            described = _describe(salary_line_id, line)
            try:
                poweroffice.delete_salary_line(salary_line_id)  # False (404) means already gone: fine
                deleted.append(salary_line_id)
            except SalaryLineLocked:
                left_behind.append({**described, "reason": LOCKED_REASON})
            except PowerOfficeError as failure:
                left_behind.append({**described, "reason": f"PowerOffice Go refused the delete: {failure.title}"})
    store.lines.forget_created(tenant_id, export_id, deleted)

    status = ExportStatus.ROLLED_BACK if not left_behind else ExportStatus.ROLLBACK_INCOMPLETE
    result = {"status": status.value, "deleted": len(deleted), "left_behind": left_behind}
    fields = {
        "phase": ExportPhase.DONE,
        "error": ExportError.of_state(error, "PushFailed"),
        "rollback": result,
        "lines_pushed": len(left_behind),
    }
    store.exports.finish_export(tenant_id, export_id, status, fields)
    if status is ExportStatus.ROLLED_BACK:
        store.ledger.delete_ledger(tenant_id, export_id, record.ledger_months or [])
        metrics.add_metric(name="ExportsRolledBack", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="RollbackIncomplete", unit=MetricUnit.Count, value=1)
    logger.info("export rolled back", extra={"export_id": export_id, "status": status, "deleted": len(deleted), "left": len(left_behind)})
    return {"status": status.value, "deleted": len(deleted), "left_behind": len(left_behind)}


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
