"""Task invocations killed as a Lambda process dies (the local stack's crash control), and what a user sees.

A killed invocation answers `Runtime.ExitError`; a step's Retry list decides whether the run tries again.
Whatever dies, the export's status stays true to PowerOffice Go.
"""

from __future__ import annotations

import time

import httpx

from abax_payroll.domain.lines import reference_prefix
from local import lambda_runtime
from local.aws import FUNCTIONS
from local.stack import LocalStack
from tests.support import OCTOBER, export_and_wait, good_logbooks, salary_lines, set_faults


def _in_go(stack: LocalStack, export_id: str) -> list[int]:
    prefix = reference_prefix(export_id)
    return sorted(
        line["Id"]
        for line in salary_lines(stack)
        if (line.get("ExternalImportReference") or "").startswith(prefix)
    )


def test_a_validate_killed_before_its_work_is_tried_again_and_the_export_completes(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    fresh.crash(lambda_runtime.BEFORE, "ExportSteps", step="validate")

    export = export_and_wait(acme, OCTOBER, logbooks)

    assert export["status"] == "COMPLETED", export.get("error")
    assert _in_go(fresh, export["export_id"]) == sorted(line["salary_line_id"] for line in export["lines"])


def test_a_push_killed_after_queueing_its_chunk_leaves_go_true_to_the_status(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    # The chunk's entry is written, the invocation dies before it answers: PushChunk retries it (a new task
    # token for the same entry), and the pusher answers the token the run waits on.
    crash = fresh.crash(lambda_runtime.AFTER, "ExportSteps", step="enqueue_push")

    export = export_and_wait(acme, OCTOBER, logbooks)

    assert crash.killed, "the push was killed"
    in_go = _in_go(fresh, export["export_id"])
    if export["status"] == "COMPLETED":
        assert in_go == sorted(line["salary_line_id"] for line in export["lines"])
    else:
        assert export["status"] == "ROLLED_BACK", export.get("error")
        assert in_go == []


def test_a_rollback_killed_every_time_leaves_an_export_that_names_its_lines_in_go(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    # The third line is refused: the saga rolls back, and every attempt of the rollback dies before its work.
    set_faults(fresh, [{"method": "POST", "path": "/SalaryLines", "nth": 3, "status": 400}])
    fresh.crash(lambda_runtime.BEFORE, "Rollback", times=5)

    export = export_and_wait(acme, OCTOBER, logbooks)

    in_go = _in_go(fresh, export["export_id"])
    assert in_go, "the first lines were created"
    # Lines are left in Go: the export must say so and name them, and offer the rollback again.
    assert export["status"] == "ROLLBACK_INCOMPLETE", (export["status"], export.get("error"), in_go)
    named = sorted(item["salary_line_id"] for item in (export.get("rollback") or {}).get("left_behind", []))
    assert named == in_go
    assert "rollback" in export["actions"]


def test_a_pusher_killed_between_creating_lines_and_recording_them_is_replaced_and_pays_each_line_once(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    """The pusher's process dies after PowerOffice Go created a line and before its id was recorded: its lease
    and its hold on the chunk lapse (PUSHER_HOLD_S, 60 s in AWS), the schedule's next pusher takes the chunk
    over, and every line it had created comes back as the same line (ExternalImportReference), never a second.
    """
    logbooks = good_logbooks(acme)
    crash = fresh.crash("push.lines_created", "Pusher", nth=3)

    with fresh.quick_pusher_replacement(hold_s=3.0, schedule_s=2.0):
        export = export_and_wait(acme, OCTOBER, logbooks, timeout=90)

    assert crash.killed, "the pusher was killed mid-chunk"
    assert export["status"] == "COMPLETED", (export["status"], export.get("error"))
    ids = [line["salary_line_id"] for line in export["lines"]]
    assert len(ids) == len(set(ids)) == export["line_count"]
    # Exactly the export's lines in Go, each once: the three created before the death were not created again.
    assert _in_go(fresh, export["export_id"]) == sorted(ids)
    # The dead pusher runs no more: bringing the running pushers to their end finds none of it to wait for.
    began = time.monotonic()
    lambda_runtime.end_invocations(FUNCTIONS["PusherFunctionArn"][0], wait_s=10)
    assert time.monotonic() - began < 5, "the killed pusher still counts as a running invocation"
