"""The in-process Lambda seam (local/lambda_runtime.py) still works with the pinned moto.

The local stack replaces the invoke method of moto's Docker-free Lambda backend. When a moto upgrade
moves that seam, these tests fail: a Task state must run the registered Python handler, hand its
result on as the task's output, and turn an exception into a Lambda error whose name the state
machine's ErrorEquals match (the class name, as AWS does for Python functions).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest

from local import lambda_runtime
from local.aws import REGION, _dummy_zip
from local.stack import LocalStack


class SeamProbeError(Exception):
    """A custom error class, as the export steps raise them."""


def _echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"echo": event, "function_name": context.function_name, "sum": sum(event.get("numbers", []))}


def _explode(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise SeamProbeError(f"probe failed on purpose with {event.get('numbers')}")


@pytest.fixture(scope="module")
def probe(stack: LocalStack) -> dict[str, str]:
    """Two registered functions in moto's Lambda, backed by the Python handlers above."""
    suffix = uuid.uuid4().hex[:8]
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(
        RoleName=f"seam-probe-{suffix}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    arns = {"role": role}
    for key, handler in (("echo", _echo), ("explode", _explode)):
        name = f"seam-probe-{key}-{suffix}"
        arns[key] = lam.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": _dummy_zip()},
        )["FunctionArn"]
        lambda_runtime.register(name, handler)
    return arns


def _run(definition: dict[str, Any], role: str, payload: dict[str, Any]) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name=f"seam-probe-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn=role,
        type="STANDARD",
    )["stateMachineArn"]
    execution_arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + 30
    while True:
        execution = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return execution
        assert time.monotonic() < deadline, "the probe execution never finished"
        time.sleep(0.05)


def test_a_task_runs_the_registered_handler_and_passes_on_its_result(probe: dict[str, str]) -> None:
    definition = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": probe["echo"], "End": True}},
    }

    execution = _run(definition, probe["role"], {"numbers": [1, 2, 3]})

    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output == {"echo": {"numbers": [1, 2, 3]}, "function_name": probe["echo"].split(":")[6], "sum": 6}


def test_an_exception_fails_the_execution_with_the_exception_class_name(probe: dict[str, str]) -> None:
    definition = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": probe["explode"], "End": True}},
    }

    execution = _run(definition, probe["role"], {"numbers": [4]})

    assert execution["status"] == "FAILED", execution
    assert execution["error"] == "SeamProbeError"
    assert "probe failed on purpose with [4]" in execution["cause"]


def test_error_equals_matches_the_exception_class_name(probe: dict[str, str]) -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": probe["explode"],
                "Catch": [
                    {"ErrorEquals": ["SomethingElse"], "Next": "Wrong"},
                    {"ErrorEquals": ["SeamProbeError"], "ResultPath": "$.error", "Next": "Caught"},
                ],
                "End": True,
            },
            "Wrong": {"Type": "Fail", "Error": "WrongCatch"},
            "Caught": {"Type": "Pass", "End": True},
        },
    }

    execution = _run(definition, probe["role"], {"numbers": [5]})

    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["error"]["Error"] == "SeamProbeError"
    assert json.loads(output["error"]["Cause"])["errorMessage"] == "probe failed on purpose with [5]"


def test_direct_invoke_returns_the_result_or_a_function_error(probe: dict[str, str]) -> None:
    lam = boto3.client("lambda", region_name=REGION)

    ok = lam.invoke(FunctionName=probe["echo"], Payload=json.dumps({"numbers": [2, 2]}))
    assert "FunctionError" not in ok
    assert json.loads(ok["Payload"].read())["sum"] == 4

    failed = lam.invoke(FunctionName=probe["explode"], Payload=json.dumps({"numbers": []}))
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "SeamProbeError"
