"""Hostile-input tests share the process's one local stack (see tests/e2e/helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.stack import LocalStack, demo_data
from tests.e2e.helpers import acquire_stack, release_stack, set_faults


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    yield acquire_stack()
    release_stack()


def restore_demo(stack: LocalStack) -> None:
    """Back to the demo companies for whoever uses this process's stack next."""
    set_faults(stack, [])
    stack.load(demo_data("abax.json"), demo_data("poweroffice.json"))
    stack.reset()


@pytest.fixture
def fresh(stack: LocalStack) -> Iterator[LocalStack]:
    stack.reset()
    set_faults(stack, [])
    yield stack
    restore_demo(stack)
