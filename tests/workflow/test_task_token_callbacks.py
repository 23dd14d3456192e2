"""The callback pattern as AWS documents it, in the local stack's Step Functions (moto + local/callbacks.py).

The push waits on a task token (`arn:aws:states:::lambda:invoke.waitForTaskToken`): the token is in the
context object (`$$.Task.Token`) the invoked function receives; the task ends when someone sends
SendTaskSuccess (its output is the task's result) or SendTaskFailure (its error and cause reach the Catch), or
with States.Timeout after TimeoutSeconds, or States.HeartbeatTimeout after HeartbeatSeconds without a
SendTaskHeartbeat (which a Catch on States.Timeout matches too). Each rule here fails when the interpreter
(or its patch) breaks it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import boto3
import pytest

from local.aws import REGION
from local.stack import LocalStack
from tests.support import probe_function

_tokens: dict[str, str] = {}  # probe run id -> the token its function received
_answer_at_once: set[str] = set()  # runs whose function answers its own token before it returns


def _queue(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _tokens[event["probe"]] = event["token"]
    if event["probe"] in _answer_at_once:
        boto3.client("stepfunctions", region_name=REGION).send_task_success(
            taskToken=event["token"], output=json.dumps({"answered": "before returning"})
        )
    return {"queued": True}


@pytest.fixture(scope="module")
def probe(stack: LocalStack) -> dict[str, str]:
    made = probe_function("callback-probe", _queue)
    return {"role": made["role"], "function": made["arn"]}


def _machine(probe: dict[str, str], task: dict[str, Any], catch: list[str]) -> str:
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": probe["function"],
                    "Payload": {"probe.$": "$.probe", "token.$": "$$.Task.Token"},
                },
                **task,
                "Catch": [{"ErrorEquals": catch, "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    return str(
        boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name=f"callback-probe-{uuid.uuid4().hex[:8]}",
            definition=json.dumps(definition),
            roleArn=probe["role"],
            type="STANDARD",
        )["stateMachineArn"]
    )


def _start(machine: str) -> tuple[str, str]:
    run = uuid.uuid4().hex
    arn = boto3.client("stepfunctions", region_name=REGION).start_execution(
        stateMachineArn=machine, input=json.dumps({"probe": run})
    )["executionArn"]
    return run, arn


def _token(run: str) -> str:
    deadline = time.monotonic() + 10
    while run not in _tokens:
        assert time.monotonic() < deadline, "the task never invoked its function"
        time.sleep(0.02)
    return _tokens[run]


def _ended(arn: str, timeout: float = 20) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    deadline = time.monotonic() + timeout
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution never ended"
        time.sleep(0.05)
    return dict(execution)


def test_the_token_reaches_the_function_and_send_task_success_is_the_result(probe: dict[str, str]) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    run, arn = _start(_machine(probe, {"TimeoutSeconds": 30}, ["States.ALL"]))
    token = _token(run)
    time.sleep(0.3)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"  # it waits on its token
    sfn.send_task_success(taskToken=token, output=json.dumps({"chunk": 3, "created": 50}))
    ended = _ended(arn)
    assert ended["status"] == "SUCCEEDED"
    assert json.loads(ended["output"]) == {"chunk": 3, "created": 50}
    with pytest.raises(sfn.exceptions.ClientError):  # the task is closed: its token answers no more
        sfn.send_task_success(taskToken=token, output="{}")


def test_send_task_failure_brings_its_error_and_cause_to_the_catch(probe: dict[str, str]) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    run, arn = _start(_machine(probe, {"TimeoutSeconds": 30}, ["PushFailed"]))
    sfn.send_task_failure(taskToken=_token(run), error="PushFailed", cause="PowerOffice Go refused line 7")
    ended = _ended(arn)
    assert ended["status"] == "SUCCEEDED"  # caught
    assert json.loads(ended["output"])["error"] == {
        "Error": "PushFailed",
        "Cause": "PowerOffice Go refused line 7",
    }


def test_no_answer_within_timeout_seconds_is_states_timeout(probe: dict[str, str]) -> None:
    run, arn = _start(_machine(probe, {"TimeoutSeconds": 1}, ["States.Timeout"]))
    _token(run)
    ended = _ended(arn)
    assert json.loads(ended["output"])["error"]["Error"] == "States.Timeout"


def test_no_heartbeat_is_states_heartbeat_timeout_which_states_timeout_also_catches(
    probe: dict[str, str],
) -> None:
    task = {"TimeoutSeconds": 30, "HeartbeatSeconds": 1}
    runs = [_start(_machine(probe, task, [name])) for name in ("States.HeartbeatTimeout", "States.Timeout")]
    for run, arn in runs:
        _token(run)
        ended = _ended(arn)
        assert ended["status"] == "SUCCEEDED", ended  # caught by either name
        assert json.loads(ended["output"])["error"]["Error"] == "States.HeartbeatTimeout"


def test_heartbeats_keep_a_task_waiting_past_heartbeat_seconds(probe: dict[str, str]) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    run, arn = _start(_machine(probe, {"TimeoutSeconds": 30, "HeartbeatSeconds": 1}, ["States.ALL"]))
    token = _token(run)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(0.3):
            sfn.send_task_heartbeat(taskToken=token)

    beating = threading.Thread(target=beat, daemon=True)
    beating.start()
    time.sleep(2.5)  # 2.5 × HeartbeatSeconds
    try:
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        sfn.send_task_success(taskToken=token, output=json.dumps({"done": True}))
    finally:
        stop.set()
        beating.join()
    assert json.loads(_ended(arn)["output"]) == {"done": True}


def test_an_answer_sent_before_the_function_returned_is_not_lost(probe: dict[str, str]) -> None:
    """The pusher can answer a chunk before the enqueue's invocation has returned: AWS keeps the answer."""
    machine = _machine(probe, {"TimeoutSeconds": 30, "HeartbeatSeconds": 2}, ["States.ALL"])
    run = uuid.uuid4().hex
    _answer_at_once.add(run)
    arn = boto3.client("stepfunctions", region_name=REGION).start_execution(
        stateMachineArn=machine, input=json.dumps({"probe": run})
    )["executionArn"]
    ended = _ended(arn, timeout=5)  # well before a heartbeat timeout could end it
    assert ended["status"] == "SUCCEEDED"
    assert json.loads(ended["output"]) == {"answered": "before returning"}


def test_a_stopped_run_is_aborted_at_once_and_its_token_closed(probe: dict[str, str]) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    run, arn = _start(_machine(probe, {"TimeoutSeconds": 60, "HeartbeatSeconds": 30}, ["States.ALL"]))
    token = _token(run)
    sfn.stop_execution(executionArn=arn)
    assert _ended(arn, timeout=3)["status"] == "ABORTED"
    with pytest.raises(sfn.exceptions.ClientError):
        sfn.send_task_success(taskToken=token, output="{}")
