"""What a company reads about its scheduled export (workflow/notifications.py): the outcome, the reason in
Norwegian and the link, for every way a scheduled export ends."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from abax_payroll.records import ExportError, ExportPeriod, ExportPhase, ExportRecord, ExportStatus
from abax_payroll.workflow.notifications import message

SERVICES: Any = SimpleNamespace(settings=SimpleNamespace(web_app_url="https://lonn.example.no/"))


def _record(status: ExportStatus, **fields: Any) -> ExportRecord:
    return ExportRecord(
        export_id="20261205T050000000Z-1a2b3c4d",
        tenant_id="acme",
        status=status,
        phase=fields.pop("phase", ExportPhase.DONE),
        period=ExportPeriod.model_validate({"from": "2026-11-01", "to": "2026-11-30"}),
        trigger="schedule",
        **fields,
    )


@pytest.mark.parametrize(
    ("record", "subject", "reason"),
    [
        (
            _record(ExportStatus.COMPLETED, line_count=12, total_amount="12345.5"),
            "Kjøregodtgjørelse for november 2026 er sendt til PowerOffice Go",
            "12 lønnslinjer, til sammen 12 345,50 kr",
        ),
        (
            _record(ExportStatus.ROLLED_BACK, error=ExportError(code="PushFailed", message="refused")),
            "Eksporten for november 2026 feilet og ble rullet tilbake",
            "PowerOffice Go avviste en lønnslinje.",
        ),
        (
            _record(
                ExportStatus.ROLLBACK_INCOMPLETE,
                error=ExportError(code="PushFailed", message="refused"),
                rollback={"left_behind": [{"salary_line_id": 1}, {"salary_line_id": 2}]},
            ),
            "Eksporten for november 2026 feilet: lønnslinjer ligger igjen i PowerOffice Go",
            "2 lønnslinjer ligger igjen i PowerOffice Go",
        ),
        (
            _record(ExportStatus.FAILED, error=ExportError(code="States.Timeout", message="late")),
            "Eksporten for november 2026 feilet",
            "Eksporten brukte for lang tid.",
        ),
        (
            _record(
                ExportStatus.FAILED,
                phase=ExportPhase.NOT_STARTED,
                error=ExportError(code="ABAX_INACTIVE", message="not connected"),
            ),
            "Den planlagte eksporten for november 2026 ble ikke startet",
            "ABAX er ikke koblet til.",
        ),
        (
            _record(
                ExportStatus.VALIDATION_FAILED,
                problems=[{"code": "EMPLOYEE_NUMBER_MISSING", "severity": "error", "items": []}],
            ),
            "Eksporten for november 2026 ble stoppet av kontrollen",
            "en sjåfør mangler ansattnummer i ABAX",
        ),
    ],
)
def test_each_end_says_what_happened_why_and_where(record: ExportRecord, subject: str, reason: str) -> None:
    composed = message(SERVICES, record)
    assert composed is not None
    assert composed[0] == subject
    assert reason in composed[1]
    assert "https://lonn.example.no/#/exports/20261205T050000000Z-1a2b3c4d" in composed[1]


def test_a_running_export_says_nothing() -> None:
    assert message(SERVICES, _record(ExportStatus.RUNNING, phase=ExportPhase.PUSHING)) is None
