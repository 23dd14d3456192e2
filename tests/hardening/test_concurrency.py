"""Races a payroll administrator (or EventBridge) can start: the outcome of each is defined."""

from __future__ import annotations

import threading
from typing import Any

from local.stack import LocalStack
from tests.support import activate, api_client, export_and_wait, good_logbooks, map_codes, wait_for_export

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
MONTHLY_EVENT = {
    "time": "2026-12-05T05:00:00Z",
    "source": "aws.scheduler",
    "detail-type": "Scheduled Event",
    "detail": {},
}


def _ready_acme(stack: LocalStack) -> Any:
    client = api_client(stack, "acme", "admin")
    activate(client)
    map_codes(client)
    return client


def _at_once(*calls: Any) -> list[Any]:
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_exports_at_the_same_moment_start_exactly_one(fresh: LocalStack) -> None:
    client = _ready_acme(fresh)
    logbooks = good_logbooks(client)
    body = {"from": "2026-10-01", "to": "2026-10-31", "logbook_ids": logbooks}
    first, second = _at_once(
        lambda: client.post("/exports", json=body), lambda: client.post("/exports", json=body)
    )
    assert sorted([first.status_code, second.status_code]) == [202, 409]
    refused = first if first.status_code == 409 else second
    assert refused.json()["code"] == "EXPORT_IN_PROGRESS"
    winner = first if first.status_code == 202 else second
    assert wait_for_export(client, winner.json()["export_id"])["status"] == "COMPLETED"


def test_overlapping_ranges_running_then_completed(fresh: LocalStack) -> None:
    client = _ready_acme(fresh)
    october = good_logbooks(client)
    started = client.post("/exports", json={"from": "2026-10-01", "to": "2026-10-31", "logbook_ids": october})
    overlapping = client.post("/exports", json={"from": "2026-10-15", "to": "2026-11-15"})
    assert overlapping.status_code == 409 and overlapping.json()["code"] == "EXPORT_IN_PROGRESS"
    assert wait_for_export(client, started.json()["export_id"])["status"] == "COMPLETED"
    again = client.post("/exports", json={"from": "2026-10-15", "to": "2026-11-15"})
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_EXPORTED"
    # November alone holds none of October's trips: it may go.
    assert export_and_wait(client, NOVEMBER)["status"] == "COMPLETED"


def test_monthly_event_delivered_twice_exports_the_month_once(fresh: LocalStack) -> None:
    client = _ready_acme(fresh)
    assert client.put("/schedule", json={"enabled": True, "day_of_month": 5}).status_code == 200
    first, second = _at_once(
        lambda: fresh.invoke("Schedule", MONTHLY_EVENT), lambda: fresh.invoke("Schedule", MONTHLY_EVENT)
    )
    assert (
        first["queued"] == second["queued"] == 1
    )  # each delivery queues acme's start; the month's claim decides
    fresh.wait_for_scheduled_starts()
    (started,) = client.get("/exports").json()["exports"]
    export = wait_for_export(client, started["export_id"])
    assert export["status"] == "COMPLETED" and export["trigger"] == "schedule"
    assert export["period"] == {"from": "2026-11-01", "to": "2026-11-30"}
    late = fresh.run_schedule(MONTHLY_EVENT["time"])
    assert late["queued"] == 1
    assert len(client.get("/exports").json()["exports"]) == 1


def test_manual_export_while_the_scheduled_one_runs_is_refused(fresh: LocalStack) -> None:
    client = _ready_acme(fresh)
    client.put("/schedule", json={"enabled": True, "day_of_month": 5})
    fresh.run_schedule(MONTHLY_EVENT["time"])
    (scheduled,) = [export["export_id"] for export in client.get("/exports").json()["exports"]]
    manual = client.post("/exports", json=NOVEMBER)
    assert manual.status_code == 409
    assert (
        manual.json()["code"] == "EXPORT_IN_PROGRESS"
    )  # the running export is named, whatever step it is in
    assert wait_for_export(client, scheduled)["status"] == "COMPLETED"
    after = client.post("/exports", json=NOVEMBER)
    assert after.status_code == 409 and after.json()["code"] == "ALREADY_EXPORTED"


def test_a_claim_that_died_between_its_two_writes_blocks_the_company_for_a_minute_only(
    fresh: LocalStack,
) -> None:
    """The lock names an export whose record was never written: refused while young, taken over once stale."""
    import time
    from decimal import Decimal

    from abax_payroll.store.exports import ORPHAN_LOCK_SECONDS
    from abax_payroll.workflow.services import services

    client = _ready_acme(fresh)
    body = {"from": "2026-10-01", "to": "2026-10-31", "logbook_ids": good_logbooks(client)}
    table = services().store.table.resource  # an orphan lock, as a claim that died would leave it
    orphan = {"pk": "TENANT#acme", "sk": "LOCK#EXPORT", "export_id": "20261101T000000000Z-deadbeef"}
    table.put_item(Item={**orphan, "claimed_at": Decimal(str(round(time.time(), 3)))})
    refused = client.post("/exports", json=body)
    assert refused.status_code == 409 and refused.json()["code"] == "EXPORT_IN_PROGRESS"
    assert "20261101T000000000Z-deadbeef" in refused.json()["detail"]

    table.put_item(
        Item={**orphan, "claimed_at": Decimal(str(round(time.time() - ORPHAN_LOCK_SECONDS - 1, 3)))}
    )
    started = client.post("/exports", json=body)
    assert started.status_code == 202, started.text
    assert wait_for_export(client, started.json()["export_id"])["status"] == "COMPLETED"
    # The finished export's lock is free without a write of its own: the next export of the company starts.
    november = client.post("/exports", json=NOVEMBER)
    assert november.status_code == 202, november.text
    assert wait_for_export(client, november.json()["export_id"])["status"] == "COMPLETED"
