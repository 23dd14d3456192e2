"""Progress of a running export (issue 15 §4): phases, the line count and amount early, and a count that moves
within a chunk instead of jumping from 0 to done."""

from __future__ import annotations

import time

import httpx

from local.stack import LocalStack
from tests.support import OCTOBER, good_logbooks, preview, set_faults, start_export, wait_for_export

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


def _slow_abax_trips(stack: LocalStack, seconds: float) -> None:
    """The next ABAX trips call (the export's own fetch) answers `seconds` late: the export stays in its check."""
    rule = {"method": "GET", "path": "/v1/trips", "nth": 1, "times": 1, "delay_s": seconds}
    response = httpx.post(f"{stack.url}/emulators/abax/_control/faults", json={"rules": [rule]}, timeout=10)
    assert response.status_code == 200, response.text


def test_an_export_shows_the_line_count_and_amount_the_user_confirmed_from_its_first_second(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    planned = preview(acme, OCTOBER, logbooks)["totals"]
    _slow_abax_trips(fresh, 2.0)

    export_id = start_export(acme, OCTOBER, logbooks)
    first = acme.get(f"/exports/{export_id}").json()
    listed = acme.get("/exports").json()["exports"][0]

    # Right after the start, while ABAX is still being read: checking, with the preview's figures.
    for seen in (first, listed):
        assert seen["export_id"] == export_id
        assert (seen["phase"], seen["totals_source"]) == ("VALIDATING", "preview"), seen
        assert (seen["line_count"], seen["lines_pushed"]) == (planned["lines"], 0)
        assert (seen["total_amount"], seen["tax_free_amount"], seen["taxable_amount"]) == (
            planned["amount"],
            planned["tax_free_amount"],
            planned["taxable_amount"],
        )
    done = wait_for_export(acme, export_id)
    assert done["status"] == "COMPLETED", done
    # The export's own check replaced them (with the same figures: nothing changed in between).
    assert (done["totals_source"], done["line_count"], done["total_amount"]) == (
        "checked",
        planned["lines"],
        planned["amount"],
    )


def test_an_export_of_another_selection_than_the_preview_shows_no_preview_figures(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    preview(acme, OCTOBER, logbooks)  # the user confirmed all three...
    _slow_abax_trips(fresh, 2.0)

    export_id = start_export(acme, OCTOBER, logbooks[:1])  # ...but the start names one
    first = acme.get(f"/exports/{export_id}").json()

    assert (first["phase"], first["totals_source"], first["line_count"], first["total_amount"]) == (
        "VALIDATING",
        None,
        0,
        None,
    ), first
    done = wait_for_export(acme, export_id)
    assert done["status"] == "COMPLETED", done
    assert done["totals_source"] == "checked" and done["line_count"] > 0
