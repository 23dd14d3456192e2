"""Every path under its role (issue 21): one walk through every entry point of the system on the local stack
with IAM enforced from the synthesized roles (local/iam.py, local/roles.json), and what the roles grant that no
path used.

The walk shares the session's one local stack and takes its companies through the story once: connect and
configure, search (answered in the call and 202), export all and some logbooks, undo, try again into a
rollback that leaves lines in a payroll, roll back again, resume, the report and its parts, the left-behind
and problem pages, a run stopped with its status-change event delivered and one with it lost (the
reconciliation sweep), the schedule (a partial manual export followed by the scheduled export of the rest,
nothing due, everything already exported, integration off, ABAX disconnected), ABAX connect and disconnect,
and activation right after deactivation. Not one call may be refused (finding 1 was a refused s3:ListBucket
on the scheduled start's path, which no test walked).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from abax_payroll.workflow.services import reset_services
from local import iam
from local.stack import LocalStack
from tests.support import (
    ALL_CODES,
    OCTOBER,
    activate,
    api_client,
    connect_abax,
    good_logbooks,
    lock_all_lines,
    set_faults,
    start_export,
    wait_for_export,
    wait_until_idle,
)

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
FAIL_FROM_THIRD_LINE = {"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 500}
SLOW_PUSH = [{"method": "POST", "path": "/SalaryLines", "nth": 1, "times": 100, "status": None, "delay_s": 1}]
SLOW_VALIDATE = [
    {"method": "GET", "path": path, "nth": 1, "times": 1, "status": None, "delay_s": 2}
    for path in ("/Employees", "/PayItems")
]


@dataclass
class Walk:
    """What the walk saw: each path's outcome, and the enforcer's record of allowed and refused calls."""

    outcomes: dict[str, Any] = field(default_factory=dict)
    refused: list[tuple[str, iam.Request]] = field(default_factory=list)
    used: set[tuple[str, str]] = field(default_factory=set)
    seconds: float = 0.0


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.text}"
    )
    return dict(response.json()) if "json" in response.headers.get("content-type", "") else {}


def _control(stack: LocalStack, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return _ok(httpx.post(f"{stack.url}/_control/{path}", json=body or {}, timeout=60))


def _emulator(stack: LocalStack, name: str, body: dict[str, Any]) -> None:
    _ok(httpx.post(f"{stack.url}/emulators/poweroffice/_control/{name}", json=body, timeout=10))


def _scheduled(client: httpx.Client) -> list[dict[str, Any]]:
    return [
        e for e in _ok(client.get("/exports", params={"limit": 100}))["exports"] if e["trigger"] == "schedule"
    ]


def _search_in_the_background(client: httpx.Client) -> dict[str, Any]:
    """A search that cannot finish inside the call: 202, then its preview is polled until READY."""
    saved = os.environ.get("PREVIEW_INLINE_SECONDS")
    os.environ["PREVIEW_INLINE_SECONDS"] = "0"
    reset_services()
    try:
        started = _ok(client.post("/exports/preview", json=NOVEMBER), 202)
    finally:
        if saved is None:
            os.environ.pop("PREVIEW_INLINE_SECONDS", None)
        else:
            os.environ["PREVIEW_INLINE_SECONDS"] = saved
        reset_services()
    deadline = time.monotonic() + 60
    while True:
        body = _ok(client.get(f"/exports/previews/{started['preview_id']}"))
        if body["status"] != "RUNNING":
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.2)
    _ok(client.get(f"/exports/previews/{started['preview_id']}/lines", params={"offset": 0}))
    return body


def _stopped(stack: LocalStack, client: httpx.Client, tenant: str, deliver_event: bool) -> dict[str, Any]:
    """A run stopped while Validate waits for PowerOffice Go; its end comes by the event or by the sweep."""
    set_faults(stack, SLOW_VALIDATE)
    export_id = start_export(client, OCTOBER)
    stop = {"export_id": export_id, "tenant_id": tenant, "deliver_event": deliver_event}
    assert _control(stack, "executions/stop", stop)["stopped"] is True
    if not deliver_event:
        time.sleep(1.5)  # the run-ended rule's look (1 s locally) would have come by now
        assert _ok(client.get(f"/exports/{export_id}"))["status"] == "RUNNING"
        deadline = time.monotonic() + 30
        while not _control(stack, "reconcile")["ended"]:
            assert time.monotonic() < deadline, "the sweep never ended the stopped run"
            time.sleep(0.3)
    set_faults(stack, [])
    return wait_for_export(client, export_id)


def _stopped_while_pushing_and_lost(stack: LocalStack, client: httpx.Client, tenant: str) -> dict[str, Any]:
    """A run stopped while its lines go to PowerOffice Go, its status-change event lost: the sweep ends the
    export naming the lines Go holds (it lists them with the tenant's key), and the clerk rolls it back."""
    set_faults(stack, SLOW_PUSH)
    export_id = start_export(client, OCTOBER)
    deadline = time.monotonic() + 60
    while _ok(client.get(f"/exports/{export_id}")).get("lines_pushed", 0) < 1:
        assert time.monotonic() < deadline, "the export never began pushing"
        time.sleep(0.2)
    stop = {"export_id": export_id, "tenant_id": tenant, "deliver_event": False}
    assert _control(stack, "executions/stop", stop)["stopped"] is True
    deadline = time.monotonic() + 60
    while export_id not in [end.get("export_id") for end in _control(stack, "reconcile")["ended"]]:
        assert time.monotonic() < deadline, "the sweep never ended the run stopped while pushing"
        time.sleep(0.3)  # its chunk still pushes (RunStillPushing): the next sweep ends it
    set_faults(stack, [])
    ended = wait_for_export(client, export_id)
    assert ended["rollback"]["left_behind_count"] >= 1, ended  # named by what Go holds
    _ok(client.post(f"/exports/{export_id}/rollback"), 202)
    return {"ended": ended["status"], "rolled back": wait_for_export(client, export_id)["status"]}


def _walk(stack: LocalStack) -> Walk:
    acme, payroll, beta, gamma = (
        api_client(stack, "acme", "admin"),
        api_client(stack, "acme", "payroll"),
        api_client(stack, "beta", "admin"),
        api_client(stack, "gamma", "admin"),
    )
    seen: dict[str, Any] = {}
    # -- connect and configure (Activate, ExportApi) --
    _ok(acme.get("/integrations/poweroffice"))
    activate(acme)
    activate(beta)
    _ok(acme.get("/integrations/abax"))
    _ok(acme.put("/payroll-codes", json={"codes": ALL_CODES}))
    _ok(beta.put("/payroll-codes", json={"codes": ALL_CODES}))
    _ok(payroll.get("/payroll-codes"))
    _ok(payroll.get("/pay-items"))
    rates = _ok(payroll.get("/rates"))["rates"]
    _ok(
        payroll.put(
            "/rates", json={"rates": [{k: r[k] for k in ("category", "valid_from", "rate")} for r in rates]}
        )
    )
    for client in (acme, beta, gamma):
        _ok(
            client.put(
                "/schedule", json={"enabled": True, "day_of_month": 5, "notification_emails": ["lonn@x.no"]}
            )
        )
    _ok(payroll.get("/schedule"))
    # -- search: answered in the call, and in the background (202) --
    seen["search"] = _ok(acme.post("/exports/preview", json=OCTOBER))["ready"]
    seen["search 202"] = _search_in_the_background(acme)["status"]
    # -- export of all logbooks (two drivers fail validation) and of some; the pages and the report --
    everything = wait_for_export(acme, start_export(acme, OCTOBER))
    seen["export all"] = everything["status"]
    for problem in everything["problems"]:
        _ok(acme.get(f"/exports/{everything['export_id']}/problems/{problem['code']}"))
    logbooks = good_logbooks(acme)
    some = wait_for_export(acme, start_export(acme, OCTOBER, logbooks))
    seen["export some"] = some["status"]
    _ok(payroll.get("/exports"))
    _ok(payroll.get(f"/exports/{some['export_id']}/lines"))
    report = _ok(payroll.get(f"/exports/{some['export_id']}/report"))
    for part in range(report["parts"]):
        _ok(payroll.get(f"/exports/{some['export_id']}/report", params={"part": part}))
    csv = payroll.get(f"/exports/{some['export_id']}/report.csv")
    assert csv.status_code == 200 and csv.text.startswith("\ufeff"), csv.text[:200]
    # -- undo, try again into a rollback that leaves lines in a payroll, roll back again, resume --
    _ok(acme.post(f"/exports/{some['export_id']}/rollback"), 202)
    seen["undo"] = wait_for_export(acme, some["export_id"])["status"]
    lock_all_lines(stack)
    set_faults(stack, [FAIL_FROM_THIRD_LINE])
    again = wait_for_export(acme, start_export(acme, OCTOBER, logbooks))
    set_faults(stack, [])
    seen["try again"] = again["status"]
    _ok(acme.get(f"/exports/{again['export_id']}/left-behind"))
    _ok(acme.post(f"/exports/{again['export_id']}/rollback"), 202)
    seen["rollback again"] = wait_for_export(acme, again["export_id"])["status"]
    _ok(acme.post(f"/exports/{again['export_id']}/resume"), 202)
    seen["resume"] = wait_for_export(acme, again["export_id"])["status"]
    _emulator(stack, "unlock", {"all": True})
    # -- runs that end outside the state machine's Catch: the run-ended event, and the sweep when it is lost --
    seen["run-ended event"] = _stopped(stack, beta, "beta", deliver_event=True)["status"]
    seen["reconciliation sweep"] = _stopped(stack, beta, "beta", deliver_event=False)["status"]
    seen["reconciliation sweep, stopped while pushing"] = _stopped_while_pushing_and_lost(stack, beta, "beta")
    # -- the schedule --
    seen["beta by hand"] = wait_for_export(beta, start_export(beta, OCTOBER))["status"]
    seen["nothing due"] = stack.run_schedule("2026-11-03T05:00:00Z")["queued"]
    stack.run_schedule("2026-11-05T05:00:00Z")  # October: acme's left-out logbooks, beta's all exported
    seen["scheduled, rest of acme's October"] = wait_for_export(acme, _scheduled(acme)[0]["export_id"])[
        "status"
    ]
    seen["scheduled, already exported"] = _ok(beta.get(f"/exports/{_scheduled(beta)[0]['export_id']}"))[
        "error"
    ]["code"]
    seen["scheduled, integration off"] = _ok(gamma.get(f"/exports/{_scheduled(gamma)[0]['export_id']}"))[
        "error"
    ]["code"]
    november = [lb["logbook_id"] for lb in _ok(acme.post("/exports/preview", json=NOVEMBER))["logbooks"]][:1]
    seen["partial by hand"] = wait_for_export(acme, start_export(acme, NOVEMBER, november))["status"]
    stack.run_schedule("2026-12-05T05:00:00Z")
    rest = [e for e in _scheduled(acme) if e["period"] == NOVEMBER]
    seen["scheduled, the rest"] = wait_for_export(acme, rest[0]["export_id"])["status"]
    # -- ABAX disconnected, then the schedule; ABAX connected again; activation right after deactivation --
    _ok(acme.post("/integrations/abax/deactivate"))
    stack.run_schedule("2027-01-05T05:00:00Z")
    december = [e for e in _scheduled(acme) if e["period"]["from"] == "2026-12-01"]
    seen["scheduled, ABAX disconnected"] = _ok(acme.get(f"/exports/{december[0]['export_id']}"))["error"][
        "code"
    ]
    connect_abax(acme)
    _ok(acme.post("/integrations/poweroffice/deactivate"))
    seen["activation after deactivation"] = activate(acme, abax=False)["status"]
    seen["notifications"] = len(
        _ok(httpx.get(f"{stack.url}/_control/notifications", timeout=10))["notifications"]
    )
    for client in (acme, payroll, beta, gamma):
        client.close()
    return Walk(outcomes=seen)


@pytest.fixture(scope="module")
def walk(stack: LocalStack) -> Iterator[Walk]:
    stack.load_demo()
    # Every function reads its secrets afresh (an earlier test on this worker may have cached the platform's
    # keys): the walk records the calls each path makes, not what a cache spared it.
    reset_services()
    set_faults(stack, [])
    enforcer = stack.aws.enforcer
    assert enforcer is not None
    refused_before = len(enforcer.refused)
    enforcer.used.clear()
    began = time.monotonic()
    try:
        walked = _walk(stack)
        walked.seconds = time.monotonic() - began
        walked.refused = enforcer.refused[refused_before:]
        walked.used = set(enforcer.used)
        yield walked
    finally:
        wait_until_idle(stack, tenants=("acme", "beta", "gamma"))
        set_faults(stack, [])
        _emulator(stack, "unlock", {"all": True})
        stack.load_demo()


def test_every_path_runs_under_its_role_with_no_call_refused(walk: Walk) -> None:
    assert walk.refused == [], [(who, request.action, request.resource) for who, request in walk.refused]
    assert walk.outcomes == {
        "search": False,  # two of acme's drivers fail validation
        "search 202": "READY",
        "export all": "VALIDATION_FAILED",
        "export some": "COMPLETED",
        "undo": "ROLLED_BACK",
        "try again": "ROLLBACK_INCOMPLETE",
        "rollback again": "ROLLBACK_INCOMPLETE",  # its lines are still in a payroll
        "resume": "COMPLETED",
        "run-ended event": "FAILED",
        "reconciliation sweep": "FAILED",
        "reconciliation sweep, stopped while pushing": {
            "ended": "ROLLBACK_INCOMPLETE",
            "rolled back": "ROLLED_BACK",
        },
        "beta by hand": "COMPLETED",
        "nothing due": 0,
        "scheduled, rest of acme's October": "VALIDATION_FAILED",  # only the two failing drivers were left
        "scheduled, already exported": "ALREADY_EXPORTED",
        "scheduled, integration off": "INTEGRATION_INACTIVE",
        "partial by hand": "COMPLETED",
        "scheduled, the rest": "COMPLETED",
        "scheduled, ABAX disconnected": "ABAX_INACTIVE",
        "activation after deactivation": "active",
        "notifications": walk.outcomes["notifications"],
    }, json.dumps(walk.outcomes, indent=1)
    assert walk.outcomes["notifications"] >= 5
    print(f"the walk took {walk.seconds:.1f} s")


def _granted(roles: dict[str, Any]) -> set[tuple[str, str]]:
    """(role, action) for every action an Allow statement of a role grants."""
    granted = set()
    for name, role in {**roles["functions"], **roles["state_machines"]}.items():
        for statement in role["statements"]:
            if statement.get("Effect") != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            granted |= {(name, action) for action in actions}
    return granted


# Calls AWS makes on a role's behalf, not the code: the local hook never sees them.
BY_AWS = {
    "logs:CreateLogStream",  # Lambda's runtime writes the function's logs
    "logs:PutLogEvents",
    "xray:PutTraceSegments",  # active tracing
    "xray:PutTelemetryRecords",
    "sqs:SendMessage",  # Lambda puts a failed asynchronous event in the dead-letter queue
    # DynamoDB uses the table's customer-managed key with the caller's permissions
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
}
BY_AWS_FOR = {
    # Step Functions' execution logs and traces
    "ExportStateMachine": {
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
    },
    # Lambda's SQS event source mapping polls as the function (what CDK's SqsEventSource grants)
    "ScheduledStart": {"sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
}
# Grants infra's side of issue 21 takes out (IAM excess, finding 7).
INFRA_REMOVES = {
    ("Activate", "secretsmanager:DescribeSecret"),
    ("Activate", "secretsmanager:TagResource"),
    ("Schedule", "sqs:GetQueueAttributes"),
    ("Schedule", "sqs:GetQueueUrl"),
}
# One grant shared by the functions that keep items (Data.grant_items) and the snapshot objects
# (Data.grant_snapshots): every action in them is called by some function's code.
SHARED_GRANTS = {
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",  # fenced writes of the steps and the rollback (ExportStore.fence)
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "s3:DeleteObject",  # a snapshot's pages, when its search is read again (store/snapshots.py)
}
# Code paths the walk does not take, each with its own test.
NOT_WALKED = {
    (
        "Activate",
        "secretsmanager:RestoreSecret",
    ),  # a secret scheduled for deletion: tests/unit/test_secret_vault.py
    ("Reconcile", "ses:SendEmail"),  # the sweep ending a scheduled export
    ("Rollback", "ses:SendEmail"),  # a scheduled export rolled back (the walk rolls back manual ones)
    ("Rollback", "s3:PutObject"),  # more left-behind lines than the record holds: tests/e2e/test_big_lists.py
    ("Reconcile", "s3:PutObject"),  # the same, when the sweep ends a run stopped with that many lines in Go
    # A chunk still queued after 20 minutes (push.HEARTBEAT_EVERY_S) hears from the pusher: no walk waits that
    # long (tests/hardening/test_fair_push_queue.py; the callback in moto: tests/workflow/test_task_token_callbacks.py).
    ("Pusher", "states:SendTaskHeartbeat"),
}


def _explained(role: str, action: str) -> bool:
    return (
        action in BY_AWS
        or action in BY_AWS_FOR.get(role, set())
        or (role, action) in INFRA_REMOVES
        or action in SHARED_GRANTS
        or (role, action) in NOT_WALKED
    )


def test_every_action_a_role_grants_is_used_by_some_path_or_explained(walk: Walk) -> None:
    """Grants shrink to what the code does: an action no path used, and nothing above explains, fails here
    (dynamodb:BatchGetItem, and DescribeSecret on PowerOffice's keys, were taken out)."""
    unused = sorted(_granted(iam.load_roles()) - walk.used)
    print("granted, not used by the walk:\n" + "\n".join(f"  {who}: {action}" for who, action in unused))
    assert [(who, action) for who, action in unused if not _explained(who, action)] == []
