"""Progress of a running export (issue 15 §4): phases, the line count and amount early, and a count that moves
within a chunk instead of jumping from 0 to done."""

from __future__ import annotations

import time

import httpx

from local.stack import LocalStack
from tests.support import OCTOBER, good_logbooks, preview, set_faults, start_export

SLOW_LINES = {
    "method": "POST",
    "path": "/SalaryLines",
    "nth": 1,
    "times": 1000,
    "status": None,
    "delay_s": 1.0,
}


def test_a_running_export_shows_its_phase_totals_and_lines_sent_one_by_one(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    planned = preview(acme, OCTOBER, logbooks)["totals"]
    assert planned["lines"] > 8  # more than two rounds of 4 lines in flight: the count has room to move
    set_faults(fresh, [SLOW_LINES])

    export_id = start_export(acme, OCTOBER, logbooks)
    seen: list[tuple[str, int, int, str | None]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        record = acme.get(f"/exports/{export_id}").json()
        seen.append((record["phase"], record["line_count"], record["lines_pushed"], record["total_amount"]))
        if record["status"] != "RUNNING":
            break
        time.sleep(0.1)

    assert record["status"] == "COMPLETED", record
    assert seen[0][0] == "VALIDATING"
    assert seen[-1] == ("DONE", planned["lines"], planned["lines"], planned["amount"])
    # Once the check knows them, the count and amount are the preview's, in every phase after.
    known = [entry for entry in seen if entry[1]]
    assert known and all(
        (count, amount) == (planned["lines"], planned["amount"]) for _, count, _, amount in known
    )
    sending = [pushed for phase, _, pushed, _ in seen if phase == "PUSHING"]
    between = sorted({pushed for pushed in sending if 0 < pushed < planned["lines"]})
    assert between, f"the count never moved between 0 and {planned['lines']} while sending: {sending}"
    assert sending == sorted(sending)  # never backwards
    listed = acme.get("/exports").json()["exports"][0]
    assert (listed["export_id"], listed["phase"], listed["lines_pushed"]) == (
        export_id,
        "DONE",
        planned["lines"],
    )
