"""Issue 24, sequence 1: a run stopped while its chunk waits for the shared PowerOffice limit never pays twice.

Other companies' pushes hold every slot of the pusher (PowerOffice answers them slowly; each has two chunks,
so their second ones hold the slots again once the pusher has made the waiting export's lookups between
them); the waiting export's run is stopped
(StopExecution, as an admin does in the console); its end is recorded (ROLLBACK_INCOMPLETE, naming no line);
the clerk rolls it back and tries again. The stopped run's chunk, still queued, must never be pushed: every
trip is paid exactly once, as the PowerOffice Go emulator's own salary lines show.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from abax_payroll.domain.lines import reference_prefix
from abax_payroll.store.push_queue import PushQueue
from abax_payroll.store.table import Table
from abax_payroll.workflow.push import CHUNKS_AT_ONCE
from abax_payroll.workflow.services import reset_services
from local.aws import REGION, TABLE
from local.stack import LocalStack
from tests.hardening.companies import client_key, companies
from tests.support import (
    api_client,
    connect_abax,
    map_codes,
    salary_lines,
    set_faults,
    start_export,
    wait_for_export,
)

SLOW = [f"slowco{n}" for n in range(CHUNKS_AT_ONCE)]  # as many as the pusher pushes at once
WAITING = "waitco"
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}


def _company(stack: LocalStack, tenant: str):  # type: ignore[no-untyped-def]
    client = api_client(stack, tenant, "admin")
    assert (
        client.post("/integrations/poweroffice/activate", json={"client_key": client_key(tenant)}).status_code
        == 200
    )
    connect_abax(client)
    map_codes(client)
    return client


def _made_by(stack: LocalStack, tenant: str, export_id: str) -> list[dict[str, Any]]:
    prefix = reference_prefix(export_id)
    return [
        line
        for line in salary_lines(stack, client_key(tenant))
        if (line.get("ExternalImportReference") or "").startswith(prefix)
    ]


def test_a_run_stopped_while_its_chunk_waits_pays_nothing_and_the_retry_pays_once(
    fresh: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUSH_CHUNK_SIZE", "6")  # read by the handlers at their next (cold) start
    reset_services()
    try:
        _stopped_while_waiting(fresh)
    finally:
        monkeypatch.undo()
        reset_services()


def _stopped_while_waiting(fresh: LocalStack) -> None:
    slow_abax, slow_go = companies(SLOW, employees=6)  # 12 lines each, two chunks of 6
    wait_abax, wait_go = companies([WAITING], employees=2)  # 4 lines
    fresh.load(
        {"organizations": slow_abax["organizations"] + wait_abax["organizations"]},
        {"clients": slow_go["clients"] + wait_go["clients"]},
    )
    fresh.reset()
    slow = {tenant: _company(fresh, tenant) for tenant in SLOW}
    waiting = _company(fresh, WAITING)
    # The other companies' lines are answered 2.5 s late each: their chunks hold the pusher for ~8 s.
    delayed = 12 * len(SLOW)
    set_faults(
        fresh,
        [
            {
                "method": "POST",
                "path": "/SalaryLines",
                "nth": 1,
                "times": delayed,
                "status": None,
                "delay_s": 2.5,
            }
        ],
    )
    slow_ids = {tenant: start_export(client, OCTOBER) for tenant, client in slow.items()}
    boto3.setup_default_session(region_name=REGION)
    queue = PushQueue(Table(TABLE))
    deadline = time.monotonic() + 60
    while sum(1 for entry in queue.waiting() if entry.taken_until > time.time()) < len(SLOW):
        assert time.monotonic() < deadline, "the slow companies' chunks never began pushing"
        time.sleep(0.1)

    first_id = start_export(waiting, OCTOBER)
    deadline = time.monotonic() + 30
    while not any(entry.export_id == first_id and entry.action == "push" for entry in queue.waiting()):
        assert time.monotonic() < deadline, "the waiting export's chunk was never queued"
        time.sleep(0.05)
    run = waiting.get(f"/exports/{first_id}").json()["execution_arn"]
    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=run)

    stopped = wait_for_export(waiting, first_id, timeout=30)  # recorded while the slow chunk still pushes
    assert stopped["status"] == "ROLLBACK_INCOMPLETE", stopped
    assert stopped["history"][-1]["outcome"] == "ABORTED"
    assert stopped["rollback"]["left_behind"] == []  # its chunk never left the queue
    assert all(slow[t].get(f"/exports/{e}").json()["status"] == "RUNNING" for t, e in slow_ids.items())

    undo = waiting.post(f"/exports/{first_id}/rollback")
    assert undo.status_code == 202, undo.text
    assert wait_for_export(waiting, first_id)["status"] == "ROLLED_BACK"
    second_id = start_export(waiting, OCTOBER)  # the clerk tries again: queued behind the slow chunk too
    second = wait_for_export(waiting, second_id, timeout=90)
    assert second["status"] == "COMPLETED", second
    for tenant, export_id in slow_ids.items():
        assert wait_for_export(slow[tenant], export_id, timeout=90)["status"] == "COMPLETED"
    # The pusher has come round to the stopped run's entry by now (it was queued before the retry's).
    assert not any(entry.export_id == first_id for entry in queue.waiting())

    set_faults(fresh, [])
    assert _made_by(fresh, WAITING, first_id) == []  # the stopped run created nothing, ever
    lines = salary_lines(fresh, client_key(WAITING))
    assert sorted(line["ExternalImportReference"] for line in lines) == sorted(
        line["external_import_reference"] for line in second["lines"]
    )  # each trip paid exactly once: the retry's 4 lines and nothing else
    assert len(lines) == 4
    for tenant, export_id in slow_ids.items():
        assert len(_made_by(fresh, tenant, export_id)) == 12
    for client in (*slow.values(), waiting):
        client.close()
