"""A run that ends outside its state machine's Catch still ends its export (workflow/ended.py).

Stopped in the Step Functions console (ABORTED) or past the state machine's TimeoutSeconds (TIMED_OUT), an
execution runs none of its states again: before, the export said RUNNING for ever and the company could
start nothing (every export, rollback and resume answered 409). EventBridge's status-change rule (the local
stack's ExecutionEndEvents) records the end; the export then offers its way forward.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import httpx

from abax_payroll.domain.lines import reference_prefix
from local.aws import REGION, asl_definition, substitute
from local.stack import LocalStack
from tests.support import (
    OCTOBER,
    export_and_wait,
    good_logbooks,
    salary_lines,
    set_faults,
    start_export,
    wait_for_export,
)


def _wait(client: httpx.Client, export_id: str, until: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/exports/{export_id}").json()
        if until(body):
            return body
        assert time.monotonic() < deadline, f"export never reached the state wanted: {body}"
        time.sleep(0.2)


def _made_by(stack: LocalStack, export_id: str) -> list[dict[str, Any]]:
    """The salary lines in Go whose ExternalImportReference names this export."""
    prefix = reference_prefix(export_id)
    return [
        line for line in salary_lines(stack) if (line.get("ExternalImportReference") or "").startswith(prefix)
    ]


def _abax_faults(stack: LocalStack, rules: list[dict[str, Any]]) -> None:
    response = httpx.post(f"{stack.url}/emulators/abax/_control/faults", json={"rules": rules}, timeout=10)
    assert response.status_code == 200, response.text


def test_a_run_stopped_in_the_console_while_it_pushes_ends_its_export_and_can_be_undone(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    # The third line is answered 4 s late: the run is stopped while its chunk pushes.
    set_faults(fresh, [{"method": "POST", "path": "/SalaryLines", "nth": 3, "status": None, "delay_s": 4}])
    export_id = start_export(acme, OCTOBER, logbooks)
    running = _wait(acme, export_id, lambda body: body.get("phase") == "PUSHING")
    deadline = time.monotonic() + 30
    while not _made_by(fresh, export_id):  # the chunk has begun: its first lines are in Go
        assert time.monotonic() < deadline, "the push never began"
        time.sleep(0.1)
    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=running["execution_arn"])

    stopped = wait_for_export(acme, export_id)
    set_faults(fresh, [])

    assert stopped["status"] == "ROLLBACK_INCOMPLETE", stopped
    assert stopped["error"]["problem_code"] == "RUN_STOPPED"
    assert stopped["history"][-1]["outcome"] == "ABORTED"
    # The chunk that was pushing when the run stopped went on; the end was recorded after it let go, so
    # every line it made is named for the rollback.
    in_go = _made_by(fresh, export_id)
    assert {item["salary_line_id"] for item in stopped["rollback"]["left_behind"]} == {
        line["Id"] for line in in_go
    }
    assert in_go, "the stopped chunk made lines"

    # The company's slot is free, and the undo deletes every line the stopped run made.
    undo = acme.post(f"/exports/{export_id}/rollback")
    assert undo.status_code == 202, undo.text
    undone = wait_for_export(acme, export_id)
    assert undone["status"] == "ROLLED_BACK", undone
    assert not _made_by(fresh, export_id)

    # The same logbooks export again, once: each planned line exactly once in Go.
    again = export_and_wait(acme, OCTOBER, logbooks)
    assert again["status"] == "COMPLETED", again
    assert sorted(line["ExternalImportReference"] for line in _made_by(fresh, again["export_id"])) == sorted(
        _line_refs(again)
    )


def _line_refs(export: dict[str, Any]) -> set[str]:
    return {line["external_import_reference"] for line in export["lines"]}


def test_a_run_past_its_time_limit_before_it_sent_anything_fails_and_frees_the_company(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    # The same definition with a 3 s TimeoutSeconds (AWS: 24 h), and an ABAX that answers 6 s late once.
    definition = json.loads(substitute(asl_definition(), fresh.aws.function_arns))
    definition["TimeoutSeconds"] = 3
    sfn = boto3.client("stepfunctions", region_name=REGION)
    local_machine = fresh.aws.state_machine_arn
    short = sfn.create_state_machine(
        name=f"short-limit-{time.time_ns()}",
        definition=json.dumps(definition),
        roleArn=sfn.describe_state_machine(stateMachineArn=local_machine)["roleArn"],
        type="STANDARD",
    )["stateMachineArn"]
    logbooks = good_logbooks(acme)
    fresh.aws.use_state_machine(short)
    try:
        _abax_faults(fresh, [{"method": "GET", "path": "/v1/trips", "status": None, "delay_s": 6}])
        export_id = start_export(acme, OCTOBER, logbooks)
        ended = wait_for_export(acme, export_id, timeout=60)
    finally:
        _abax_faults(fresh, [])
        fresh.aws.use_state_machine(local_machine)

    assert ended["status"] == "FAILED", ended
    assert ended["error"]["problem_code"] == "TIMED_OUT"
    assert ended["history"][-1]["outcome"] == "TIMED_OUT"
    assert not _made_by(fresh, export_id)
    # Nothing was sent, so its trips are free: the same logbooks export at once (no 409).
    again = export_and_wait(acme, OCTOBER, logbooks)
    assert again["status"] == "COMPLETED", again
