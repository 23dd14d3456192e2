"""Workflow fixtures: the local stack (shared with tests/e2e in the same worker), a fresh company, knobs.

These tests run the real ASL definition in moto's Step Functions interpreter with the real Lambda
handlers invoked in-process, and read what an admin would read in the Step Functions console: the
execution (named by the export id) and its event history.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import boto3
import httpx
import pytest

from abax_payroll.workflow.services import reset_services
from local.aws import REGION
from local.stack import LocalStack
from tests.support import activate, api_client, map_codes


@pytest.fixture
def acme(fresh: LocalStack) -> Iterator[httpx.Client]:
    with api_client(fresh, "acme", "admin") as client:
        activate(client)
        map_codes(client)
        yield client


@pytest.fixture
def stepfunctions(stack: LocalStack):  # type: ignore[no-untyped-def]
    return boto3.client("stepfunctions", region_name=REGION)


@pytest.fixture
def chunk_size() -> Iterator[Callable[[int], None]]:
    """Set PUSH_CHUNK_SIZE for the handlers (what `LocalStack(environment=...)` does at start), then restore it."""
    before = os.environ.get("PUSH_CHUNK_SIZE")

    def set_size(size: int) -> None:
        os.environ["PUSH_CHUNK_SIZE"] = str(size)
        reset_services()  # the handlers read their settings once, like a Lambda cold start

    yield set_size
    if before is None:
        os.environ.pop("PUSH_CHUNK_SIZE", None)
    else:
        os.environ["PUSH_CHUNK_SIZE"] = before
    reset_services()
