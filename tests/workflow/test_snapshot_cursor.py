"""The fetch's cursor, written every couple of seconds: an invocation cut at its timeout (it runs on, as in
AWS) never takes a snapshot another invocation finished back to RUNNING, and a fresh export snapshot is
written once, with its first cursor."""

from __future__ import annotations

from abax_payroll.domain.period import Period
from abax_payroll.workflow import fetching
from abax_payroll.workflow.services import services
from local.stack import LocalStack

OCTOBER = Period.parse("2026-10-01", "2026-10-31")


def test_a_finished_snapshot_is_never_moved_back_by_a_late_invocation(fresh: LocalStack) -> None:
    store = services().store.snapshots
    first = fetching.new_snapshot(OCTOBER, "export")
    assert store.put("acme", "e-late", first) is True
    assert store.put("acme", "e-late", first) is False  # the second invocation finds it written

    assert store.move("acme", "e-late", {"trips_read": 10, "calls": 1}) is True
    assert store.move("acme", "e-late", {"status": fetching.READY, "trips_read": 12, "calls": 2}) is True
    # The invocation that was cut at its timeout finishes its slow call and moves its older cursor:
    assert store.move("acme", "e-late", {"trips_read": 11, "calls": 2, "cursor": first["cursor"]}) is False

    kept = store.get("acme", "e-late")
    assert kept is not None
    assert (kept["status"], kept["trips_read"]) == (fetching.READY, 12)
