"""The local stack kills a chosen task invocation at a chosen point, as a killed Lambda process dies.

Before its work: nothing of it happened. After its work and before it answers: everything happened, the
state machine still sees a failure. At a point the code names (`crashpoints.reached`): what came before
happened, nothing after it, not even a `finally`. Each answers what Lambda answers for a runtime that exited
(`Runtime.ExitError`), so the ASL's Retry and Catch lists meet the error name AWS would give them.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import boto3
import httpx
import pytest

from abax_payroll import crashpoints
from local import lambda_runtime
from local.aws import REGION
from local.stack import LocalStack
from tests.support import probe_function

# What each probe invocation did, by the event's "tag": the steps it got through.
_done: dict[str, list[str]] = {}


def _work(event: dict[str, Any], context: Any) -> dict[str, Any]:
    steps = _done.setdefault(event["tag"], [])
    steps.append("created")
    try:
        if event.get("on_a_thread"):  # as the pusher's workers: a thread the handler started
            worker = threading.Thread(target=crashpoints.reached, args=("probe.created",), daemon=True)
            worker.start()
            worker.join()
        else:
            crashpoints.reached("probe.created")
        steps.append("recorded")
    finally:
        steps.append("finally")
    return {"steps": len(steps)}


@pytest.fixture(scope="module")
def probe(stack: LocalStack) -> dict[str, str]:
    return probe_function("crash-probe", _work)


@pytest.fixture(autouse=True)
def disarmed() -> Any:
    lambda_runtime.clear_crashes()
    yield
    lambda_runtime.clear_crashes()


def _run(probe: dict[str, str], tag: str, retry: bool = False, **event: Any) -> dict[str, Any]:
    task: dict[str, Any] = {"Type": "Task", "Resource": probe["arn"], "End": True}
    if retry:  # as the ASL's steps retry Lambda's own errors
        task["Retry"] = [{"ErrorEquals": ["Runtime.ExitError"], "IntervalSeconds": 1, "MaxAttempts": 2}]
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name=f"crash-probe-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "Call", "States": {"Call": task}}),
        roleArn=probe["role"],
        type="STANDARD",
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"tag": tag, **event}))[
        "executionArn"
    ]
    deadline = time.monotonic() + 30
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the probe execution never finished"
        time.sleep(0.05)
    return execution


def test_killed_before_its_work_nothing_of_it_happened(probe: dict[str, str]) -> None:
    lambda_runtime.crash(lambda_runtime.BEFORE, probe["name"], tag="before")

    execution = _run(probe, "before")

    assert execution["status"] == "FAILED"
    assert execution["error"] == "Runtime.ExitError"
    assert "Runtime exited with error: signal: killed" in execution["cause"]
    assert "before" not in _done


def test_killed_after_its_work_everything_happened_and_the_caller_still_sees_a_failure(
    probe: dict[str, str],
) -> None:
    lambda_runtime.crash(lambda_runtime.AFTER, probe["name"], tag="after")

    execution = _run(probe, "after", retry=True)

    # The first invocation did all its work, then died before answering; the retry did it all again.
    assert execution["status"] == "SUCCEEDED", execution
    assert _done["after"] == ["created", "recorded", "finally"] * 2


@pytest.mark.parametrize("on_a_thread", [False, True])
def test_killed_at_a_named_point_what_came_before_happened_nothing_after_it(
    probe: dict[str, str], on_a_thread: bool
) -> None:
    tag = f"named-{on_a_thread}"
    armed = lambda_runtime.crash("probe.created", probe["name"], tag=tag)

    execution = _run(probe, tag, on_a_thread=on_a_thread)

    assert execution["error"] == "Runtime.ExitError"
    # Created, never recorded, and not even its `finally` ran.
    assert _done[tag] == ["created"]
    assert [killed["point"] for killed in armed.killed] == ["probe.created"]


def test_only_the_chosen_invocation_dies(probe: dict[str, str]) -> None:
    lambda_runtime.crash("probe.created", probe["name"], nth=2, tag="second")

    first, second, third = (_run(probe, "second") for _ in range(3))

    assert [e["status"] for e in (first, second, third)] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]


def test_the_http_control_arms_a_crash_and_says_what_it_killed(
    stack: LocalStack, probe: dict[str, str]
) -> None:
    armed = httpx.post(
        f"{stack.url}/_control/crashes",
        json={"point": "invocation.before", "function": probe["name"], "where": {"tag": "http"}},
        timeout=10,
    )
    assert armed.status_code == 200, armed.text

    execution = _run(probe, "http")

    assert execution["error"] == "Runtime.ExitError"
    listed = httpx.get(f"{stack.url}/_control/crashes", timeout=10).json()["crashes"]
    assert [killed["event"]["tag"] for crash in listed for killed in crash["killed"]] == ["http"]
    bad = httpx.post(f"{stack.url}/_control/crashes", json={"function": "x"}, timeout=10)
    assert bad.status_code == 400 and "point" in bad.json()["detail"]


def test_a_stalled_invocation_waits_there_and_goes_on(probe: dict[str, str]) -> None:
    lambda_runtime.crash("probe.created", probe["name"], delay_s=1.0, tag="stalled")

    began = time.monotonic()
    execution = _run(probe, "stalled")

    assert execution["status"] == "SUCCEEDED", execution
    assert time.monotonic() - began >= 1.0
    assert _done["stalled"] == ["created", "recorded", "finally"]
