"""The ledger rule where the rollback applies it (issue 15 §1): after a rollback the export holds exactly the
trips of its lines that still exist in PowerOffice Go; a trip two lines share stays held while either exists."""

from __future__ import annotations

import httpx
import pytest

from abax_payroll.records import ExportPhase, ExportStatus, RecoveryAction
from abax_payroll.workflow.rollback import rollback
from abax_payroll.workflow.services import services
from local.stack import LocalStack

from .test_rollback import EXPORT_ID, FAILURE, _pushed_export

# The trips the export claimed (sorted, as Group claims them) and the lines that pay them, by position:
# line 0 (Ola), line 1 (Kari), line 2 (Per); Ola's and Kari's lines share a trip (a passenger trip, say).
CLAIMED = ["trip-kari", "trip-ola", "trip-per", "trip-shared"]
LINE_TRIPS = {0: [1, 3], 1: [0, 3], 2: [2]}


@pytest.fixture
def pushed(fresh: LocalStack, acme: httpx.Client) -> dict[int, int]:
    created = _pushed_export(services())
    store = services().store
    lines = store.lines.get_lines("acme", EXPORT_ID)
    store.lines.put_line_chunks(
        "acme",
        EXPORT_ID,
        [
            [
                line.model_copy(update={"salary_line_id": None, "trips": {"2026-10": LINE_TRIPS[line.index]}})
                for line in lines
            ]
        ],
    )
    store.ledger.delete_ledger("acme", EXPORT_ID, ["2026-10"])
    store.ledger.put_ledger("acme", EXPORT_ID, {"2026-10": CLAIMED})
    return created


def _held() -> dict[str, str]:
    return services().store.ledger.exported_trips("acme", ["2026-10"])


def _lock(stack: LocalStack, action: str, ids: list[int]) -> None:
    httpx.post(
        f"{stack.url}/emulators/poweroffice/_control/{action}", json={"salary_line_ids": ids}, timeout=10
    ).raise_for_status()


def test_only_the_trips_of_the_line_left_in_go_stay_held_until_a_rollback_again_frees_them(
    fresh: LocalStack, pushed: dict[int, int]
) -> None:
    _lock(fresh, "lock", [pushed[1]])

    assert rollback(services(), "acme", EXPORT_ID, FAILURE)["status"] == "ROLLBACK_INCOMPLETE"

    # Kari's line is in a payroll: her trip and the shared one are paid. Ola's and Per's lines are gone.
    assert _held() == {"trip-kari": EXPORT_ID, "trip-shared": EXPORT_ID}

    _lock(fresh, "unlock", [pushed[1]])
    store = services().store.exports
    store.claim_recovery(
        "acme", EXPORT_ID, ExportPhase.ROLLING_BACK, [ExportStatus.ROLLBACK_INCOMPLETE],
        {"recovery_action": RecoveryAction.ROLLBACK, "recovery_by": "kari@acme.example"},
        {"action": "rollback", "by": "kari@acme.example", "outcome": "STARTED"},
    )  # fmt: skip
    assert rollback(services(), "acme", EXPORT_ID, None, action="rollback")["status"] == "ROLLED_BACK"

    assert _held() == {}
    record = store.get_export("acme", EXPORT_ID)
    assert (
        record is not None and record.error is not None and "line 4" in record.error.message
    )  # the first failure stays told
    assert [(entry["by"], entry["outcome"]) for entry in record.history] == [
        ("system", "ROLLBACK_INCOMPLETE"), ("kari@acme.example", "STARTED"), ("kari@acme.example", "ROLLED_BACK"),
    ]  # fmt: skip


def test_a_line_the_export_cannot_tie_to_its_trips_keeps_every_trip_held(
    fresh: LocalStack, pushed: dict[int, int]
) -> None:
    store = services().store
    lines = store.lines.get_lines("acme", EXPORT_ID)
    store.lines.put_line_chunks(
        "acme", EXPORT_ID, [[line.model_copy(update={"salary_line_id": None, "trips": {}}) for line in lines]]
    )  # lines planned before they knew their trips
    _lock(fresh, "lock", [pushed[1]])

    assert rollback(services(), "acme", EXPORT_ID, FAILURE)["status"] == "ROLLBACK_INCOMPLETE"

    assert set(_held()) == {"trip-ola", "trip-kari", "trip-shared", "trip-per"}
