"""PowerOffice's 10 requests/s belong to our subscription key: many tenants exporting at once share them."""

from __future__ import annotations

import threading

import httpx

from local.stack import LocalStack
from tests.support import api_client, connect_abax, map_codes, wait_for_export

from .companies import client_key, companies

TENANTS = [f"load{n}" for n in range(1, 6)]
EMPLOYEES = 10  # two lines each: 20 lines per tenant, 100 in all


def test_five_tenants_export_at_once_under_one_limit(fresh: LocalStack) -> None:
    abax, poweroffice = companies(TENANTS, EMPLOYEES)
    fresh.load(abax, poweroffice)
    fresh.reset()
    clients = {tenant: api_client(fresh, tenant, "admin") for tenant in TENANTS}
    for tenant, client in clients.items():
        assert (
            client.post(
                "/integrations/poweroffice/activate", json={"client_key": client_key(tenant)}
            ).status_code
            == 200
        )
        connect_abax(client)
        map_codes(client)
    httpx.post(f"{fresh.url}/emulators/poweroffice/_control/stats/reset").raise_for_status()

    started: dict[str, str] = {}
    refused: dict[
        str, str
    ] = {}  # a thread's assert would only warn: failures are collected and asserted here
    barrier = threading.Barrier(len(TENANTS))

    def start(tenant: str) -> None:
        barrier.wait()
        try:
            response = clients[tenant].post("/exports", json={"from": "2026-10-01", "to": "2026-10-31"})
            if response.status_code == 202:
                started[tenant] = response.json()["export_id"]
            else:
                refused[tenant] = f"{response.status_code} {response.text}"
        except Exception as error:  # noqa: BLE001 - reported below, in the test's own thread
            refused[tenant] = repr(error)

    threads = [threading.Thread(target=start, args=(tenant,)) for tenant in TENANTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refused == {}
    assert sorted(started) == sorted(TENANTS)  # every tenant's export started: none drops out of the checks

    for tenant, export_id in started.items():
        export = wait_for_export(clients[tenant], export_id, timeout=180)
        assert export["status"] == "COMPLETED", (tenant, export.get("error"))
        assert export["lines_pushed"] == 2 * EMPLOYEES
        assert len(fresh.poweroffice.salary_lines(client_key(tenant))) == 2 * EMPLOYEES
    stats = httpx.get(f"{fresh.url}/emulators/poweroffice/_control/stats").json()
    # What PowerOffice accepted never exceeded its limit in any sliding second. A 429 can still happen
    # when arrival jitter packs 11 requests into a second; the client waits it out, no export fails.
    assert stats["max_requests_in_any_second"] <= 10, stats
    assert stats["throttled"] <= 5, stats
    for client in clients.values():
        client.close()


def test_the_pusher_hands_the_last_seconds_sends_to_the_next_pusher(fresh: LocalStack) -> None:
    """Each Lambda instance paces itself; the next pusher learns what PowerOffice still counts from the lease."""
    import time

    from abax_payroll.workflow.push import PUSHER_LEASE
    from abax_payroll.workflow.services import services
    from tests.support import activate, export_and_wait, good_logbooks

    client = api_client(fresh, "acme", "admin")
    activate(client)
    map_codes(client)
    released = time.time()
    assert export_and_wait(client, logbook_ids=good_logbooks(client))["status"] == "COMPLETED"
    store = services().store.leases
    deadline = time.monotonic() + 30
    while (lease := store.peek(PUSHER_LEASE)) is None or "holder" in lease:  # the pusher leaves when idle
        assert time.monotonic() < deadline, lease
        time.sleep(0.2)
    assert lease["expires_at"] == 0  # free at once, not when it would expire
    # Its sends still inside PowerOffice's window when it let go (none after its idle seconds; all of the
    # last second's when it leaves at its invocation's end), by this process's limiter.
    assert lease["handover"]["by"] == services().limiter().identity
    recent = [float(sent) for sent in lease["handover"]["sent"]]
    assert len(recent) <= 10 and all(released - 1 <= sent <= time.time() for sent in recent)
    assert store.acquire_lease(PUSHER_LEASE, "the-next-pusher", 30) == {
        "by": services().limiter().identity,
        "sent": recent,
    }
    assert store.acquire_lease(PUSHER_LEASE, "a-third-one", 30) is None  # held
    store.release_lease(PUSHER_LEASE, "the-next-pusher")
    client.close()


def test_a_chunk_waiting_for_the_pusher_runs_no_lambda(fresh: LocalStack) -> None:
    """While another pusher drains the queue, a queued chunk waits in Step Functions on its task token: no
    ExportSteps invocation runs for it (nothing polls), until the pusher comes round to it."""
    import time

    from abax_payroll.workflow.push import PUSHER_LEASE
    from abax_payroll.workflow.services import services
    from local import lambda_runtime
    from tests.support import activate, good_logbooks, start_export, wait_for_export

    client = api_client(fresh, "acme", "admin")
    activate(client)
    map_codes(client)
    logbooks = good_logbooks(client)
    store = services().store
    assert store.leases.acquire_lease(PUSHER_LEASE, "a-busy-pusher", 60) is not None
    export_id = start_export(client, logbook_ids=logbooks)
    deadline = time.monotonic() + 30
    while not any(entry.export_id == export_id for entry in store.push_queue.waiting()):
        assert time.monotonic() < deadline, "the chunk was never queued"
        time.sleep(0.05)
    time.sleep(0.3)  # the enqueue's invocation returns
    busy: list[int] = []
    for _ in range(
        30
    ):  # 1.5 s of waiting: no ExportSteps invocation runs for it (the pusher's lease is held)
        busy.append(lambda_runtime._Instance.busy.get("abax-payroll-export-steps", 0))
        time.sleep(0.05)
    assert busy == [0] * 30
    assert client.get(f"/exports/{export_id}").json()["status"] == "RUNNING"
    store.leases.release_lease(PUSHER_LEASE, "a-busy-pusher")
    fresh.aws.pusher_schedule.tick()  # the schedule (or the next chunk queued) wakes a pusher
    assert wait_for_export(client, export_id)["status"] == "COMPLETED"
    client.close()
