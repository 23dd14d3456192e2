"""End-to-end fixtures: one local stack per xdist worker, a fresh company for every test, API clients.

Every test talks HTTP to the local stack the way the web app (or `curl`) would: the real gateway with
Bearer tokens, the real handlers, moto executing the real state machine, and the emulators of
PowerOffice Go and ABAX behind them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from local.stack import LocalStack

from .helpers import acquire_stack, activate, api_client, map_codes, release_stack, set_faults


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    yield acquire_stack()
    release_stack()


def _wait_until_idle(stack: LocalStack, timeout: float = 60) -> None:
    """Let every export of the test end, so that none writes into the next test's fresh company."""
    deadline = time.monotonic() + timeout
    for tenant in ("acme", "beta"):
        with api_client(stack, tenant) as client:
            while time.monotonic() < deadline:
                response = client.get("/exports", params={"limit": 100})
                if response.status_code != 200 or all(
                    e["status"] != "RUNNING" for e in response.json()["exports"]
                ):
                    break
                time.sleep(0.2)


@pytest.fixture
def fresh(stack: LocalStack) -> Iterator[LocalStack]:
    """The demo companies as the data files describe them: nothing activated, no exports, no faults."""
    stack.reset()
    set_faults(stack, [])
    yield stack
    _wait_until_idle(stack)
    set_faults(stack, [])


@pytest.fixture
def acme_admin(fresh: LocalStack) -> Iterator[httpx.Client]:
    with api_client(fresh, "acme", "admin") as client:
        yield client


@pytest.fixture
def acme_payroll(fresh: LocalStack) -> Iterator[httpx.Client]:
    with api_client(fresh, "acme", "payroll") as client:
        yield client


@pytest.fixture
def beta_admin(fresh: LocalStack) -> Iterator[httpx.Client]:
    with api_client(fresh, "beta", "admin") as client:
        yield client


@pytest.fixture
def acme(acme_admin: httpx.Client) -> httpx.Client:
    """Acme with the integration active and every category mapped to a fitting pay item."""
    activate(acme_admin)
    map_codes(acme_admin)
    return acme_admin
