"""Validate's PowerOffice Go lookups wait in the push queue and are made by the pusher (workflow/lookups.py).

At a month end every company's Validate needs PowerOffice Go's pay items and employees, under the 10 requests/s
the pusher spends. The export's LookUp task queues the request and waits on its task token (no Lambda runs for
it); the pusher asks Go at the company's turn and writes the answer, which Validate uses without asking Go.
"""

from __future__ import annotations

import time

import httpx

from abax_payroll.workflow.push import PUSHER_LEASE
from abax_payroll.workflow.services import services
from local import lambda_runtime
from local.stack import LocalStack
from tests.support import OCTOBER, good_logbooks, set_faults, start_export, wait_for_export

STEPS = "abax-payroll-export-steps"


def _entered(stack: LocalStack, client: httpx.Client, export_id: str) -> list[str]:
    import boto3

    from local.aws import REGION

    arn = client.get(f"/exports/{export_id}").json()["execution_arn"]
    events = boto3.client("stepfunctions", region_name=REGION).get_execution_history(
        executionArn=arn, maxResults=1000
    )["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def test_the_lookups_wait_for_the_pusher_in_step_functions_with_no_lambda_running(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    store = services().store
    assert store.leases.acquire_lease(PUSHER_LEASE, "a-busy-pusher", 60) is not None
    try:
        export_id = start_export(acme, OCTOBER, good_logbooks(acme))
        deadline = time.monotonic() + 30
        while not (queued := [e for e in store.push_queue.waiting() if e.export_id == export_id]):
            assert time.monotonic() < deadline, "the lookups were never queued"
            time.sleep(0.05)
        assert [entry.action for entry in queued] == ["lookup"]
        time.sleep(0.3)  # the enqueue's invocation returns
        busy = []
        for _ in range(20):  # a second of waiting: nothing runs for it
            busy.append(lambda_runtime._Instance.busy.get(STEPS, 0))
            time.sleep(0.05)
        assert busy == [0] * 20
        entered = _entered(fresh, acme, export_id)
        assert entered[-1] == "LookUp" and "Validate" not in entered
    finally:
        store.leases.release_lease(PUSHER_LEASE, "a-busy-pusher")
    fresh.aws.pusher_schedule.tick()  # the schedule (or the next entry queued) wakes a pusher
    assert wait_for_export(acme, export_id)["status"] == "COMPLETED"


def test_validate_uses_the_pushers_answer_and_asks_poweroffice_go_nothing(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    """Validate is held a moment before its work; meanwhile PowerOffice Go stops answering its lookups. The
    pusher asked before, so the export completes; a Validate that asked Go itself would fail."""
    stalled = fresh.crash(lambda_runtime.BEFORE, "ExportSteps", delay_s=1.5, step="validate")
    export_id = start_export(acme, OCTOBER, good_logbooks(acme))
    deadline = time.monotonic() + 30
    while not stalled.killed:
        assert time.monotonic() < deadline, "Validate never ran"
        time.sleep(0.02)
    set_faults(
        fresh,
        [
            {"method": "GET", "path": path, "times": 100, "status": 500}
            for path in ("/Employees", "/PayItems")
        ],
    )
    record = wait_for_export(acme, export_id)
    set_faults(fresh, [])
    assert record["status"] == "COMPLETED", record.get("error")
    assert "LookUp" in _entered(fresh, acme, export_id)


def test_a_refusal_the_company_can_fix_is_the_exports_validation_problem(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    """PowerOffice Go refuses the pusher's lookup (the client's privileges are missing): the export stops at
    validation with that problem, as when Validate asked Go itself, and nothing is pushed."""
    queued = fresh.crash(lambda_runtime.BEFORE, "ExportSteps", delay_s=1.0, step="enqueue_lookup")
    export_id = start_export(acme, OCTOBER, good_logbooks(acme))
    deadline = time.monotonic() + 30
    while not queued.killed:  # the search and the start have asked Go; the lookup has not
        assert time.monotonic() < deadline, "the lookups were never queued"
        time.sleep(0.02)
    set_faults(fresh, [{"method": "GET", "path": "/PayItems", "times": 100, "status": 403}])
    record = wait_for_export(acme, export_id)
    set_faults(fresh, [])
    assert record["status"] == "VALIDATION_FAILED", record
    assert record["problems"][0]["code"] == "POWEROFFICE_PRIVILEGES_MISSING", record["problems"]
    assert not record.get("lines_pushed")
