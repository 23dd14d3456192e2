"""End-to-end fixtures: one local stack per xdist worker, a fresh company for every test, API clients.

Every test talks HTTP to the local stack the way the web app (or `curl`) would: the real gateway with
Bearer tokens, the real handlers, moto executing the real state machine, and the emulators of
PowerOffice Go and ABAX behind them.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local.stack import LocalStack
from tests.support import activate, api_client, map_codes


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
