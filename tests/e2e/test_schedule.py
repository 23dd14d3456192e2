"""The monthly schedule: one start per due tenant (queued by the daily run, each started on its own), a month
never skipped because a start failed, and a failed start in the tenant's own export list with its reason."""

from __future__ import annotations

import time
from decimal import Decimal

import boto3
import httpx

from local.aws import REGION, TABLE
from local.stack import LocalStack
from tests.support import GOOD_EMPLOYEES, activate, map_codes, preview, start_export, wait_for_export

DAY_5 = "2026-12-05T05:00:00Z"  # 06:00 in Oslo on the 5th: November is due
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def _scheduled(client: httpx.Client, day: int = 5) -> None:
    assert client.put("/schedule", json={"enabled": True, "day_of_month": day}).status_code == 200


def _exports(client: httpx.Client) -> list[dict]:
    response = client.get("/exports")
    assert response.status_code == 200, response.text
    return list(response.json()["exports"])


def test_a_refused_start_is_in_the_tenants_list_with_its_reason_and_touches_no_other(
    fresh: LocalStack, acme_admin: httpx.Client, beta_admin: httpx.Client
) -> None:
    _scheduled(acme_admin)  # acme never switched the integration on
    _scheduled(beta_admin)
    activate(beta_admin)
    map_codes(beta_admin)

    assert fresh.run_schedule(DAY_5) == {"month": "2026-11", "queued": 2}

    (refused,) = _exports(acme_admin)
    assert refused["status"] == "FAILED" and refused["trigger"] == "schedule"
    assert refused["period"] == NOVEMBER
    detail = acme_admin.get(f"/exports/{refused['export_id']}").json()
    assert detail["error"]["code"] == "INTEGRATION_INACTIVE"
    assert "not started" in detail["error"]["message"] and "PowerOffice" in detail["error"]["message"]
    (started,) = _exports(beta_admin)
    assert started["trigger"] == "schedule"
    assert wait_for_export(beta_admin, started["export_id"])["status"] != "FAILED"


def test_a_start_that_failed_gives_the_month_back_and_the_next_run_starts_it(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    _scheduled(acme)
    local_machine = fresh.aws.state_machine_arn
    fresh.aws.use_state_machine(local_machine.replace("abax-payroll-export", "deleted-by-mistake"))
    try:
        fresh.run_schedule(DAY_5)  # StartExecution fails: the start is retried, then dead-lettered
    finally:
        fresh.aws.use_state_machine(local_machine)
    failed = _exports(acme)
    assert failed and all(e["status"] == "FAILED" and e["trigger"] == "schedule" for e in failed)
    assert {acme.get(f"/exports/{e['export_id']}").json()["error"]["code"] for e in failed} == {
        "START_FAILED"
    }
    dead = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=fresh.aws.scheduled_starts_dead_letters_url
    )
    assert len(dead.get("Messages", [])) == 1  # the alarmed dead-letter queue holds acme's start

    fresh.run_schedule("2026-12-06T05:00:00Z")  # the next day's run catches up: the month was not skipped
    started = [e for e in _exports(acme) if e["status"] != "FAILED"]
    assert len(started) == 1
    export = wait_for_export(acme, started[0]["export_id"])
    assert export["status"] == "COMPLETED" and export["period"] == NOVEMBER


def test_a_claim_left_by_a_start_that_died_is_taken_over(fresh: LocalStack, acme: httpx.Client) -> None:
    """The claim names an export whose record was never written (the start crashed between the two)."""
    _scheduled(acme)
    boto3.resource("dynamodb", region_name=REGION).Table(TABLE).put_item(
        Item={
            "pk": "TENANT#acme",
            "sk": "SCHEDULED#2026-11",
            "export_id": "20261205T050000000Z-deadbeef",
            "claimed_at": Decimal(str(round(time.time() - 3600))),
        }
    )
    fresh.run_schedule(DAY_5)
    (started,) = _exports(acme)
    assert wait_for_export(acme, started["export_id"])["status"] == "COMPLETED"


def test_a_second_delivery_of_the_day_starts_nothing_new(fresh: LocalStack, acme: httpx.Client) -> None:
    _scheduled(acme)
    fresh.run_schedule(DAY_5)
    fresh.run_schedule(DAY_5)
    (started,) = _exports(acme)
    assert wait_for_export(acme, started["export_id"])["status"] == "COMPLETED"
    fresh.run_schedule("2026-12-07T05:00:00Z")
    assert len(_exports(acme)) == 1


def test_a_scheduled_start_without_abax_is_refused_with_its_code(
    fresh: LocalStack, acme_admin: httpx.Client
) -> None:
    """PowerOffice Go on, ABAX never connected: the month's export is recorded as not started, ABAX_INACTIVE
    (the web app says so and links to connecting ABAX), not started and left to fail in the workflow."""
    _scheduled(acme_admin)
    activate(acme_admin, abax=False)
    map_codes(acme_admin)

    assert fresh.run_schedule(DAY_5) == {"month": "2026-11", "queued": 1}

    (refused,) = _exports(acme_admin)
    assert refused["status"] == "FAILED" and refused["trigger"] == "schedule"
    detail = acme_admin.get(f"/exports/{refused['export_id']}").json()
    assert detail["error"]["code"] == "ABAX_INACTIVE"
    assert detail["error"]["problem_code"] == "ABAX_INACTIVE"


def test_a_month_partly_exported_by_hand_has_the_rest_exported_by_the_schedule(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    """Issue 21, finding 1: the scheduled start reads the month's trips when the ledger holds some of them (the
    snapshot bucket); its role could not (AccessDenied on s3:ListBucket) and the month failed every day. Now
    the logbooks left out by hand are exported by the schedule, and nothing is paid twice."""
    _scheduled(acme)
    logbooks = [
        logbook["logbook_id"]
        for logbook in preview(acme, NOVEMBER)["logbooks"]
        if logbook["driver"]["employee_number"] in GOOD_EMPLOYEES
    ]
    assert len(logbooks) >= 2
    by_hand = wait_for_export(acme, start_export(acme, NOVEMBER, logbooks[:1]))
    assert by_hand["status"] == "COMPLETED", by_hand
    assert fresh.aws.enforcer is not None
    refused_before = len(fresh.aws.enforcer.refused)

    fresh.run_schedule(DAY_5)

    assert fresh.aws.enforcer.refused[refused_before:] == []
    scheduled = [e for e in _exports(acme) if e["trigger"] == "schedule"]
    assert len(scheduled) == 1, scheduled
    export = wait_for_export(acme, scheduled[0]["export_id"])
    assert export["status"] == "COMPLETED", export
    assert set(export["logbook_ids"]) & set(logbooks[:1]) == set()
    assert set(logbooks[1:]) <= set(export["logbook_ids"])


def test_the_schedule_runs_at_an_instant_from_the_stacks_control(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    """`POST /_control/schedule/run` (SPEC §6): the daily run as EventBridge Scheduler sends it at that instant;
    the start then goes through the queue."""
    _scheduled(acme)
    bad = httpx.post(f"{fresh.url}/_control/schedule/run", json={"at": "the fifth"}, timeout=10)
    assert bad.status_code == 400 and "ISO 8601" in bad.text
    answer = httpx.post(f"{fresh.url}/_control/schedule/run", json={"at": DAY_5}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"at": "2026-12-05T05:00:00+00:00", "month": "2026-11", "queued": 1}
    fresh.wait_for_scheduled_starts()
    (started,) = _exports(acme)
    assert wait_for_export(acme, started["export_id"])["status"] == "COMPLETED"
