"""Fair at month end, on the production path: the pusher takes the push queue a chunk at a time, round-robin
across companies, so a small export is never held behind a large one (issue 20 §6).

Two companies export through the real state machine, the real enqueue and pusher and the PowerOffice Go
emulator at its 10 requests/s: a large export (10 chunks) is pushing when a small one (one chunk) is queued.
The small one's lines must be created within a bounded number of the large one's chunks after it was queued,
while the large one still has most of its lines to go.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from abax_payroll.store.push_queue import PushQueue
from abax_payroll.store.table import Table
from abax_payroll.workflow.push import REFRESH_S
from abax_payroll.workflow.services import reset_services
from local.aws import REGION, TABLE
from local.stack import LocalStack
from tests.support import api_client, connect_abax, map_codes, salary_lines, start_export, wait_for_export

from .companies import client_key, companies

CHUNK = 5
LARGE, SMALL = "a-large", "b-small"  # the large one first in the queue's key order, too


@pytest.fixture
def small_chunks() -> Iterator[None]:
    before = os.environ.get("PUSH_CHUNK_SIZE")
    os.environ["PUSH_CHUNK_SIZE"] = str(CHUNK)
    reset_services()
    yield
    if before is None:
        os.environ.pop("PUSH_CHUNK_SIZE", None)
    else:
        os.environ["PUSH_CHUNK_SIZE"] = before
    reset_services()


def _company(fresh: LocalStack, tenant: str):  # type: ignore[no-untyped-def]
    client = api_client(fresh, tenant, "admin")
    assert (
        client.post("/integrations/poweroffice/activate", json={"client_key": client_key(tenant)}).status_code
        == 200
    )
    connect_abax(client)
    map_codes(client)
    return client


def test_a_small_export_is_pushed_between_two_chunks_of_a_large_one(
    fresh: LocalStack, small_chunks: None
) -> None:
    large_abax, large_go = companies([LARGE], employees=25)  # 50 lines: 10 chunks of 5
    small_abax, small_go = companies([SMALL], employees=2)  # 4 lines: one chunk
    fresh.load(
        {"organizations": large_abax["organizations"] + small_abax["organizations"]},
        {"clients": large_go["clients"] + small_go["clients"]},
    )
    fresh.reset()
    large, small = _company(fresh, LARGE), _company(fresh, SMALL)
    october = {"from": "2026-10-01", "to": "2026-10-31"}
    large_id = start_export(large, october)
    deadline = time.monotonic() + 60
    while len(salary_lines(fresh, client_key(LARGE))) < CHUNK:  # its first chunk is in Go
        assert time.monotonic() < deadline, "the large export never began pushing"
        time.sleep(0.05)

    small_id = start_export(small, october)
    queue = PushQueue(Table(TABLE))
    boto3.setup_default_session(region_name=REGION)
    deadline = time.monotonic() + 60
    while not any(entry.export_id == small_id for entry in queue.waiting()):
        assert time.monotonic() < deadline, "the small export's chunk was never queued"
        time.sleep(0.02)
    large_when_queued = len(salary_lines(fresh, client_key(LARGE)))

    small_done = wait_for_export(small, small_id, timeout=120)
    large_done = wait_for_export(large, large_id, timeout=120)
    assert small_done["status"] == large_done["status"] == "COMPLETED"
    small_lines = salary_lines(fresh, client_key(SMALL))
    large_lines = salary_lines(fresh, client_key(LARGE))
    assert len(small_lines) == 4 and len(large_lines) == 50
    first_small = min(line["Id"] for line in small_lines)
    large_before = sum(1 for line in large_lines if line["Id"] < first_small)
    # Queued, the small chunk waited for the rest of the large one's chunk in flight and for the chunks the
    # pusher picked from its last read of the queue (read at most once a second, REFRESH_S: at 10 lines a
    # second, two chunks of 5): never for the large export's remaining 40-odd lines. (A fresh-clone run at
    # load 6 saw 13 lines; the bound of 2 chunks had left out the read's second.)
    stale_picks = math.ceil(REFRESH_S * 10 / CHUNK)
    assert large_before - large_when_queued <= (1 + stale_picks) * CHUNK, (large_when_queued, large_before)
    assert len(large_lines) - large_before >= 20  # the large export was far from done
    for client in (large, small):
        client.close()


def _be_the_pusher(services: Any) -> None:
    """Take the PUSHER lease, once the stack's own pusher (a schedule tick just now finds the queue empty and
    ends within seconds) has left it."""
    from abax_payroll.workflow.push import PUSHER_LEASE

    deadline = time.monotonic() + 20
    while services.store.leases.acquire_lease(PUSHER_LEASE, "this-test", 60) is None:
        assert time.monotonic() < deadline, "the stack's pusher kept the PUSHER lease for 20 s"
        time.sleep(0.2)


def test_the_pusher_serves_the_company_it_served_longest_ago_first(fresh: LocalStack) -> None:
    """The choice itself, on the queue as stored: a large export's next chunk queued before a small one's still
    goes after it, once the large company was just served; between companies not yet served, the oldest first."""
    from abax_payroll.workflow.push import PUSHER_LEASE, Pusher
    from abax_payroll.workflow.services import services

    boto3.setup_default_session(region_name=REGION)
    # This test is the pusher: the stack's own (its one-minute schedule) must not drain these made-up entries.
    _be_the_pusher(services())
    queue = PushQueue(Table(TABLE))
    queue.put(LARGE, "20261031T000000000Z-1a2e", 3, "run-large", "token-large")
    time.sleep(0.01)
    queue.put(SMALL, "20261031T000001000Z-5a11", 0, "run-small", "token-small")
    pusher = Pusher(services(), lambda: 900.0)
    first = pusher._next()
    assert first is not None and first.tenant_id == LARGE  # nobody served yet: the oldest entry
    pusher.served[LARGE] = time.time()
    second = pusher._next()
    assert second is not None and second.tenant_id == SMALL
    services().store.leases.release_lease(PUSHER_LEASE, "this-test")


def test_a_long_queued_chunk_hears_from_the_pusher_and_one_whose_run_ended_is_dropped(
    fresh: LocalStack,
) -> None:
    """A chunk queued longer than 20 minutes gets a heartbeat (its task's HeartbeatSeconds is an hour, so it is
    not queued again while the pusher is busy elsewhere); a chunk whose task no longer waits leaves the queue."""
    from dataclasses import replace
    from decimal import Decimal

    from abax_payroll.workflow.push import HEARTBEAT_EVERY_S, PUSHER_LEASE, Pusher
    from abax_payroll.workflow.services import services

    boto3.setup_default_session(region_name=REGION)
    # This test is the pusher: the stack's own (its one-minute schedule) must not drain these made-up entries.
    _be_the_pusher(services())
    queue = PushQueue(Table(TABLE))
    queue.put(LARGE, "20261031T000000000Z-1a2e", 0, "run-large", "token-waits")
    queue.put(SMALL, "20261031T000001000Z-5a11", 0, "run-small", "token-gone")
    queue.put(SMALL, "20261031T000002000Z-7e57", 0, "run-new", "token-new")  # queued just now
    long_ago = Decimal(str(round(time.time() - HEARTBEAT_EVERY_S - 60, 3)))
    for entry in queue.waiting():
        if entry.token != "token-new":
            Table(TABLE).resource.update_item(
                Key={"pk": "PUSHQ", "sk": f"{entry.tenant_id}#{entry.export_id}#{entry.chunk:05d}"},
                UpdateExpression="SET heartbeat_at = :then",
                ExpressionAttributeValues={":then": long_ago},
            )

    heard: list[str] = []

    class Runs:
        def heartbeat(self, token: str) -> bool:
            heard.append(token)
            return token != "token-gone"  # its run ended: Step Functions answers TaskTimedOut

    pusher = Pusher(replace(services(), runs=Runs()), lambda: 900.0)  # type: ignore[arg-type]
    pusher._waiting(fresh=True)
    assert sorted(heard) == ["token-gone", "token-waits"]
    after = {entry.token: entry for entry in queue.waiting()}
    assert set(after) == {"token-waits", "token-new"}
    assert after["token-waits"].heartbeat_at > time.time() - 60
    services().store.leases.release_lease(PUSHER_LEASE, "this-test")
