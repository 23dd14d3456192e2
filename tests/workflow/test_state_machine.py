"""The real state machine (ASL) in moto: the path each export takes, its name, and how it scales."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import httpx

from local.aws import asl_definition
from local.stack import LocalStack
from tests.support import (
    OCTOBER,
    export_and_wait,
    good_logbooks,
    lock_all_lines,
    set_faults,
    wait_for_export,
)

SMALL = {"from": "2025-12-01", "to": "2025-12-31"}  # one logbook of Ola Nordmann: a few lines
READ = ["Start", "Fetch", "FetchedAll", "LookUp"]  # ABAX read (one invocation for a small company); Go asked
PERSISTENT_FAILURE = {"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 500}


def _ended(stepfunctions: Any, execution_arn: str, timeout: float = 30) -> dict[str, Any]:
    """The execution once it has ended: the record reaches its terminal status a state or two before."""
    deadline = time.monotonic() + timeout
    while True:
        execution = stepfunctions.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING" or time.monotonic() > deadline:
            return dict(execution)
        time.sleep(0.05)


def _history(stepfunctions: Any, execution_arn: str) -> list[dict[str, Any]]:
    events, token = [], None
    while True:
        page = stepfunctions.get_execution_history(
            executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def _entered(events: list[dict[str, Any]]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"] for event in events if "stateEnteredEventDetails" in event
    ]


def _invocations(events: list[dict[str, Any]]) -> int:
    """Lambda invocations: the Lambda tasks, and the push chunks' lambda:invoke.waitForTaskToken tasks."""
    return sum(
        1
        for event in events
        if event["type"] == "LambdaFunctionScheduled"
        or (
            event["type"] == "TaskScheduled"
            and event["taskScheduledEventDetails"]["resourceType"] == "lambda"
        )
    )


def test_the_stack_runs_the_one_asl_definition(stack: LocalStack, stepfunctions: Any) -> None:
    deployed = json.loads(
        stepfunctions.describe_state_machine(stateMachineArn=stack.aws.state_machine_arn)["definition"]
    )
    assert set(deployed["States"]) == set(json.loads(asl_definition())["States"])
    assert deployed["StartAt"] == "Start"
    assert deployed["States"]["Push"]["Type"] == "Map"


def test_a_completed_export_goes_validate_group_push_complete_and_is_named_by_its_export_id(
    acme: httpx.Client, stepfunctions: Any
) -> None:
    record = export_and_wait(acme, SMALL)
    assert record["status"] == "COMPLETED", record

    execution = _ended(stepfunctions, record["execution_arn"])
    assert execution["name"] == record["export_id"]
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["input"]) == {
        "tenant_id": "acme",
        "export_id": record["export_id"],
        "action": "export",
    }
    events = _history(stepfunctions, record["execution_arn"])
    assert _entered(events) == [*READ, "Validate", "Group", "Push", "PushChunk", "Complete", "Completed"]
    assert events[-1]["type"] == "ExecutionSucceeded"


def test_a_push_failure_goes_through_rollback(
    fresh: LocalStack, acme: httpx.Client, stepfunctions: Any
) -> None:
    logbooks = good_logbooks(acme)
    set_faults(fresh, [PERSISTENT_FAILURE])

    record = export_and_wait(acme, OCTOBER, logbooks)

    assert record["status"] == "ROLLED_BACK", record
    execution = _ended(stepfunctions, record["execution_arn"])
    assert execution["status"] == "FAILED"
    assert execution["error"] == "ExportRolledBack"
    entered = _entered(_history(stepfunctions, record["execution_arn"]))
    assert entered[:8] == [*READ, "Validate", "Group", "Push", "PushChunk"]
    assert entered[-3:] == ["Rollback", "RollbackOutcome", "RolledBack"]
    assert "Complete" not in entered


def test_locked_lines_end_the_execution_in_rollback_incomplete(
    fresh: LocalStack, acme: httpx.Client, stepfunctions: Any
) -> None:
    logbooks = good_logbooks(acme)
    lock_all_lines(fresh)
    set_faults(fresh, [PERSISTENT_FAILURE])

    record = export_and_wait(acme, OCTOBER, logbooks)

    assert record["status"] == "ROLLBACK_INCOMPLETE", record
    execution = _ended(stepfunctions, record["execution_arn"])
    assert execution["error"] == "RollbackIncomplete"
    assert _entered(_history(stepfunctions, record["execution_arn"]))[-3:] == [
        "Rollback",
        "RollbackOutcome",
        "RollbackIncomplete",
    ]


def test_a_rollback_again_and_a_resume_are_executions_of_the_same_machine_named_by_the_export(
    fresh: LocalStack, acme: httpx.Client, stepfunctions: Any
) -> None:
    logbooks = good_logbooks(acme)
    lock_all_lines(fresh)
    set_faults(fresh, [PERSISTENT_FAILURE])
    record = export_and_wait(acme, OCTOBER, logbooks)
    assert record["status"] == "ROLLBACK_INCOMPLETE"
    set_faults(fresh, [])
    export_id = record["export_id"]

    assert acme.post(f"/exports/{export_id}/rollback").status_code == 202
    again = wait_for_export(acme, export_id)
    assert acme.post(f"/exports/{export_id}/resume").status_code == 202
    resumed = wait_for_export(acme, export_id)

    assert again["status"] == "ROLLBACK_INCOMPLETE" and resumed["status"] == "COMPLETED"
    arns = [entry["execution_arn"] for entry in resumed["history"] if entry["outcome"] == "STARTED"]
    assert [arn.rsplit(":", 1)[1] for arn in arns] == [f"{export_id}-rollback-1", f"{export_id}-resume-2"]
    assert resumed["execution_arn"] == arns[-1]
    assert _entered(_history(stepfunctions, arns[0])) == [
        "Start",
        "RollbackAgain",
        "RollbackOutcome",
        "RollbackIncomplete",
    ]
    assert _entered(_history(stepfunctions, arns[1])) == [
        "Start", "PrepareResume", "ResumeOutcome", "Push", "PushChunk", "Complete", "Completed",
    ]  # fmt: skip
    assert json.loads(stepfunctions.describe_execution(executionArn=arns[1])["input"])["action"] == "resume"


def test_a_validation_failure_stops_before_group(acme: httpx.Client, stepfunctions: Any) -> None:
    record = export_and_wait(acme, OCTOBER)  # Nils Bakke and Lise Moe fail validation

    assert record["status"] == "VALIDATION_FAILED"
    execution = _ended(stepfunctions, record["execution_arn"])
    assert execution["error"] == "ExportValidationFailed"
    assert _entered(_history(stepfunctions, record["execution_arn"])) == [
        *READ,
        "Validate",
        "ValidationFailed",
    ]


def test_history_does_not_grow_with_the_number_of_lines(
    acme: httpx.Client, stepfunctions: Any, chunk_size: Any
) -> None:
    chunk_size(50)
    small = export_and_wait(acme, SMALL)
    large = export_and_wait(acme, OCTOBER, good_logbooks(acme))
    assert small["status"] == large["status"] == "COMPLETED"
    assert large["line_count"] >= 3 * small["line_count"]  # several times the lines ...

    small_events = _history(stepfunctions, small["execution_arn"])
    large_events = _history(stepfunctions, large["execution_arn"])
    # ... one chunk each, so the very same transitions and Lambda invocations
    assert [event["type"] for event in large_events] == [event["type"] for event in small_events]
    assert (
        _invocations(large_events) == _invocations(small_events) == 6
    )  # fetch, queue the lookups, validate, group, one chunk, complete


def test_history_grows_with_the_number_of_chunks(
    acme: httpx.Client, stepfunctions: Any, chunk_size: Any
) -> None:
    chunk_size(5)
    small = export_and_wait(acme, SMALL)
    large = export_and_wait(acme, OCTOBER, good_logbooks(acme))
    assert small["status"] == large["status"] == "COMPLETED"

    counts = {}
    for record in (small, large):
        chunks = math.ceil(record["line_count"] / 5)
        events = _history(stepfunctions, record["execution_arn"])
        assert _invocations(events) == 5 + chunks, record["line_count"]
        assert _entered(events).count("PushChunk") == chunks
        counts[chunks] = len(events)
    (few, few_events), (many, many_events) = sorted(counts.items())
    assert many > few
    per_chunk = (many_events - few_events) / (many - few)
    assert (
        per_chunk == int(per_chunk) and per_chunk <= 10
    )  # a fixed number of events per chunk, whatever the lines
