"""Nothing stays RUNNING (issue 21, finding 2): the reconciliation sweep ends an export whose run ended while
its status-change event was lost, and one whose start died between its claim and StartExecution, exactly as
the run-ended rule would have (workflow/ended.py), so the company can export again.

Driven through the local stack's own controls (SPEC §6): `POST /_control/executions/stop` with
`deliver_event: false`, then `POST /_control/reconcile`.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import boto3
import httpx

from abax_payroll.records import ExportPeriod, ExportPhase, ExportRecord, ExportStatus
from abax_payroll.store.exports import ExportStore
from abax_payroll.store.table import Table
from local.aws import REGION, TABLE
from local.stack import LocalStack
from tests.support import OCTOBER, export_and_wait, good_logbooks, set_faults, start_export


def _control(stack: LocalStack, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(f"{stack.url}/_control/{path}", json=body or {}, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _status(client: httpx.Client, export_id: str) -> dict[str, Any]:
    response = client.get(f"/exports/{export_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_run_stopped_with_its_event_lost_stays_running_until_the_sweep_ends_it(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    # Validate's reads of PowerOffice Go answer 2 s late: the run is stopped before it sends anything.
    set_faults(
        fresh,
        [
            {"method": "GET", "path": path, "nth": 1, "times": 1, "status": None, "delay_s": 2}
            for path in ("/Employees", "/PayItems")
        ],
    )
    export_id = start_export(acme, OCTOBER, logbooks)

    stopped = _control(
        fresh, "executions/stop", {"export_id": export_id, "tenant_id": "acme", "deliver_event": False}
    )
    assert stopped["stopped"] is True and stopped["event"] == "lost"
    time.sleep(1.5)  # longer than the run-ended rule takes to deliver an event (local: 1 s)
    assert _status(acme, export_id)["status"] == "RUNNING"  # nothing else will end it
    assert acme.post("/exports", json={**OCTOBER, "logbook_ids": logbooks}).status_code == 409

    swept = _control(fresh, "reconcile")

    assert [entry["export_id"] for entry in swept["ended"]] == [export_id], swept
    ended = _status(acme, export_id)
    assert ended["status"] == "FAILED", ended
    assert ended["error"]["problem_code"] == "RUN_STOPPED"
    assert ended["history"][-1]["outcome"] == "ABORTED"
    # The same logbooks export again (their trips are free), and a second sweep changes nothing.
    assert export_and_wait(acme, OCTOBER, logbooks)["status"] == "COMPLETED"
    assert _control(fresh, "reconcile")["ended"] == []


def test_a_claim_whose_run_never_started_is_ended_after_a_few_minutes(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    """The start died after claiming the export (lock and RUNNING record) and before StartExecution."""
    export_id = "20261205T050000000Z-0dead0ff"
    store = ExportStore(Table(TABLE))
    store.claim_export(
        ExportRecord(
            export_id=export_id,
            tenant_id="acme",
            status=ExportStatus.RUNNING,
            phase=ExportPhase.VALIDATING,
            execution_arn=fresh.aws.state_machine_arn.replace(":stateMachine:", ":execution:")
            + f":{export_id}",
            period=ExportPeriod.model_validate(OCTOBER),
            trigger="manual",
            created_at="2026-12-05T05:00:00Z",
            created_by="someone",
        )
    )
    assert _control(fresh, "reconcile")["ended"] == []  # a fresh claim: its start may still be on its way
    boto3.resource("dynamodb", region_name=REGION).Table(TABLE).update_item(
        Key={"pk": "TENANT#acme", "sk": "LOCK#EXPORT"},
        UpdateExpression="SET claimed_at = :then",
        ExpressionAttributeValues={":then": Decimal(str(round(time.time() - 600)))},
    )

    swept = _control(fresh, "reconcile")

    assert [entry["export_id"] for entry in swept["ended"]] == [export_id], swept
    ended = _status(acme, export_id)
    assert ended["status"] == "FAILED" and ended["error"]["problem_code"] == "START_FAILED", ended
    assert export_and_wait(acme, OCTOBER, good_logbooks(acme))["status"] == "COMPLETED"
