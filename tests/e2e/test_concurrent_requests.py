"""Concurrent API requests through the local gateway: each is answered for its own caller, as in AWS.

In AWS one Lambda execution environment serves one request at a time, so powertools' resolver state (the
current event, `app.context` with its `_route`) is never shared by two requests. The local stack runs every
handler in one process: this test sends many companies' requests at once and checks that no answer is a 5xx
and that every company reads its own schedule, never another's.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from abax_payroll.api import exports
from local import lambda_runtime
from local.stack import LocalStack
from tests.support import api_client

TENANTS = [f"race{n:02d}" for n in range(8)]
ROUNDS = 6


@pytest.fixture
def slow_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the window between powertools setting a request's state and the route (and, after it, the response
    validation) reading it, as a busy machine does now and then: a route waits 20 ms before it reads its caller."""
    read_caller = exports.caller

    def slowly(resolver: Any) -> Any:
        time.sleep(0.02)
        return read_caller(resolver)

    monkeypatch.setattr(exports, "caller", slowly)


def test_concurrent_requests_are_each_answered_for_their_own_company(
    fresh: LocalStack, slow_routes: None
) -> None:
    clients = {tenant: api_client(fresh, tenant, "admin") for tenant in TENANTS}
    try:
        days = {tenant: n + 1 for n, tenant in enumerate(TENANTS)}
        for tenant, client in clients.items():
            schedule = {
                "enabled": False,
                "day_of_month": days[tenant],
                "notification_emails": [f"lonn@{tenant}.example"],
            }
            assert client.put("/schedule", json=schedule).status_code == 200

        lambda_runtime.reset_environment_counts()
        start = threading.Barrier(len(TENANTS))

        def read(tenant: str) -> list[tuple[str, int, dict[str, Any]]]:
            start.wait()
            answers = []
            for _ in range(ROUNDS):
                schedule = clients[tenant].get("/schedule")
                status = clients[tenant].get("/integrations/poweroffice")  # the other function, at once
                answers.append((tenant, schedule.status_code, schedule.json()))
                answers.append((tenant, status.status_code, {}))
            return answers

        with ThreadPoolExecutor(len(TENANTS)) as pool:
            answers = [answer for tenant_answers in pool.map(read, TENANTS) for answer in tenant_answers]
    finally:
        for client in clients.values():
            client.close()

    assert len(answers) == 2 * ROUNDS * len(TENANTS)
    # The requests did run at once, each in an environment of its own, as Lambda would have started them.
    api = lambda_runtime.environments(api=True)["abax-payroll-export-api"]
    assert api["peak_busy"] >= 2, api
    failed = [(tenant, code, body) for tenant, code, body in answers if code != 200]
    assert not failed, f"{len(failed)} of {len(answers)} concurrent requests failed: {failed[:3]}"
    wrong = [
        (tenant, body["day_of_month"], body["notification_emails"])
        for tenant, _, body in answers
        if body
        and (body["day_of_month"], body["notification_emails"]) != (days[tenant], [f"lonn@{tenant}.example"])
    ]
    assert not wrong, f"{len(wrong)} answers carried another company's schedule: {wrong[:3]}"
