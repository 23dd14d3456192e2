"""Resume: before the missing lines of an export are pushed, the record learns which of its planned lines
exist in PowerOffice Go, and the export claims all its trips again (unless a later export paid some)."""

from __future__ import annotations

from typing import Any

from ..domain.lines import reference_prefix
from ..records import ExportPhase, ExportRecord, ExportStatus, RecoveryAction
from .rollback import RECOVERED_CHUNK
from .services import Services


def trips_taken_by_others(services: Services, tenant_id: str, record: ExportRecord) -> list[str]:
    """The other exports that hold trips this one claimed (resuming would pay those trips twice)."""
    months = record.ledger_months or []
    claimed = services.store.ledger.export_trips(tenant_id, record.export_id, months)
    holders = services.store.ledger.exported_trips(tenant_id, months)
    mine = record.export_id
    return sorted(
        {holders[trip] for trips in claimed.values() for trip in trips if holders.get(trip, mine) != mine}
    )


def prepare_resume(
    services: Services, tenant_id: str, export_id: str, run: str | None = None
) -> dict[str, Any]:
    """`run`: the resume's execution; every write is fenced by it (a resume whose run was stopped and whose
    end was recorded claims no trips and records no lines)."""
    store = services.store
    record = store.exports.get_export(tenant_id, export_id)
    if record is None:
        raise LookupError(f"export {export_id} of tenant {tenant_id} has no record")
    if not record.running:
        return {"blocked": True, "chunks": []}
    store.exports.ensure_current_run(tenant_id, export_id, run)
    fence = store.exports.run_fence(tenant_id, export_id, run)
    lines = store.lines.get_lines(tenant_id, export_id)
    with services.poweroffice_for_export(tenant_id, record) as poweroffice:  # the key that created its lines
        in_go = {
            line.external_import_reference: line.id
            for line in poweroffice.find_salary_lines_by_reference_prefix(reference_prefix(export_id))
            if not line.is_deleted_by_user
        }
    # What PowerOffice Go holds decides: an id whose line was deleted there is forgotten (the line is made
    # again), a line found by its reference but missing from the record is written down.
    created = store.lines.get_created(tenant_id, export_id)
    reference = {line.index: line.ref for line in lines}
    store.lines.forget_created(
        tenant_id,
        export_id,
        [sid for index, sid in created.items() if in_go.get(reference.get(index, "")) != sid],
        fence,
    )
    found = {
        index: in_go[ref]
        for index, ref in reference.items()
        if ref in in_go and created.get(index) != in_go[ref]
    }
    store.lines.record_created(tenant_id, export_id, RECOVERED_CHUNK, found, fence)
    others = trips_taken_by_others(services, tenant_id, record)
    if others:
        store.exports.finish_export(
            tenant_id,
            export_id,
            record.recovering_from or ExportStatus.ROLLBACK_INCOMPLETE,
            {"phase": ExportPhase.DONE},
            history={
                "action": RecoveryAction.RESUME.value,
                "by": record.recovery_by,
                "outcome": "BLOCKED",
                "exports": others,
            },
            run=run,
        )
        return {"blocked": True, "chunks": []}
    # every claimed trip again
    store.ledger.hold_only(tenant_id, export_id, None, record.ledger_months or [], fence)
    store.exports.put_progress(
        tenant_id, export_id, len(store.lines.get_created(tenant_id, export_id)), fence
    )
    store.exports.update_export(tenant_id, export_id, {"phase": ExportPhase.PUSHING}, run=run)
    # A chunk whose lines all exist is answered by the pusher at once, without a request to PowerOffice Go.
    return {"blocked": False, "chunks": list(range(record.chunk_count or 0))}
