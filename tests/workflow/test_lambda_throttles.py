"""Reserved concurrency in the local Lambda runtime, as Lambda enforces it and as Step Functions reports it.

Lambda refuses a synchronous Invoke that would run more instances of a function than its reserved concurrency
with 429 TooManyRequestsException (Reason ReservedFunctionConcurrentInvocationLimitExceeded), before its code
runs; Step Functions reports that to a Lambda task as `Lambda.TooManyRequestsException` ("When Lambda hits the
maximum number of invocations, the error is Lambda.TooManyRequestsException", AWS Step Functions developer
guide, "Handle Lambda service exceptions"), for a task whose Resource is the function's ARN and for the
`lambda:invoke` integration alike. The export's state machine relies on it: ExportSteps has a reserved
concurrency, and a throttled step waits in its Retry, at no Lambda cost.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local import lambda_runtime
from local.aws import REGION
from local.stack import LocalStack
from tests.support import probe_function

_release = threading.Event()
_began: list[str] = []


def _slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _began.append(event.get("probe", ""))
    if event.get("hold"):
        _release.wait(10)
    return {"ran": event.get("probe")}


@pytest.fixture
def probe(stack: LocalStack) -> Iterator[dict[str, str]]:
    made = probe_function("throttle-probe", _slow)
    role, arn, name = made["role"], made["arn"], made["name"]
    lambda_runtime.reserve_concurrency(name, 1)
    _release.clear()
    yield {"role": role, "function": arn, "name": name}
    _release.set()
    lambda_runtime.reserve_concurrency(name, None)


def _hold_the_one_slot(probe: dict[str, str]) -> threading.Thread:
    """One invocation that runs until released: the function's only reserved instance is busy."""
    holder = threading.Thread(
        target=lambda: boto3.client("lambda", region_name=REGION).invoke(
            FunctionName=probe["name"], Payload=json.dumps({"probe": "holder", "hold": True})
        ),
        daemon=True,
    )
    holder.start()
    deadline = time.monotonic() + 5
    while "holder" not in _began:
        assert time.monotonic() < deadline, "the holding invocation never began"
        time.sleep(0.02)
    return holder


def _machine(probe: dict[str, str], task: dict[str, Any]) -> str:
    definition = {
        "StartAt": "Step",
        "States": {
            "Step": {
                **task,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    return str(
        boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name=f"throttle-probe-{uuid.uuid4().hex[:8]}",
            definition=json.dumps(definition),
            roleArn=probe["role"],
            type="STANDARD",
        )["stateMachineArn"]
    )


def _run(machine: str, timeout: float = 20) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"probe": uuid.uuid4().hex}))[
        "executionArn"
    ]
    deadline = time.monotonic() + timeout
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution never ended"
        time.sleep(0.05)
    return json.loads(execution["output"])


def test_an_invoke_beyond_the_reserved_concurrency_is_refused_before_the_handler_runs(
    probe: dict[str, str],
) -> None:
    holder = _hold_the_one_slot(probe)
    began = len(_began)
    with pytest.raises(ClientError) as refused:
        boto3.client("lambda", region_name=REGION).invoke(
            FunctionName=probe["name"], Payload=json.dumps({"probe": "second"})
        )
    answer = refused.value.response
    assert answer["Error"]["Code"] == "TooManyRequestsException"
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert answer["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert len(_began) == began  # the handler never ran
    _release.set()
    holder.join(5)
    # The slot is free again: the next invoke runs.
    answered = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName=probe["name"], Payload=json.dumps({"probe": "third"})
    )
    assert json.loads(answered["Payload"].read()) == {"ran": "third"}
    assert lambda_runtime.environments()[probe["name"]]["throttled"] >= 1


@pytest.mark.parametrize("style", ["function ARN", "lambda:invoke"])
def test_a_throttled_lambda_task_fails_with_lambda_too_many_requests_exception(
    probe: dict[str, str], style: str
) -> None:
    task: dict[str, Any] = (
        {"Type": "Task", "Resource": probe["function"], "Parameters": {"probe.$": "$.probe"}}
        if style == "function ARN"
        else {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": probe["function"], "Payload": {"probe.$": "$.probe"}},
        }
    )
    holder = _hold_the_one_slot(probe)
    try:
        output = _run(_machine(probe, task))
    finally:
        _release.set()
        holder.join(5)
    assert output["error"]["Error"] == "Lambda.TooManyRequestsException"


def test_a_retry_on_the_throttle_waits_in_step_functions_until_the_function_has_room(
    probe: dict[str, str],
) -> None:
    task = {
        "Type": "Task",
        "Resource": probe["function"],
        "Parameters": {"probe.$": "$.probe"},
        "Retry": [
            {
                "ErrorEquals": ["Lambda.TooManyRequestsException"],
                "IntervalSeconds": 1,
                "MaxAttempts": 10,
                "BackoffRate": 1,
            }
        ],
    }
    holder = _hold_the_one_slot(probe)
    threading.Timer(1.5, _release.set).start()  # the busy instance ends while the task retries
    output = _run(_machine(probe, task))
    holder.join(5)
    assert "error" not in output
    assert output["ran"]  # it ran once the instance was free, not before
    assert lambda_runtime.environments()[probe["name"]]["throttled"] >= 1  # and was refused meanwhile
