"""The one local stack of a test process, and a fresh company for each test that needs one.

moto and the handlers' environment are process-wide, so a process holds one stack (tests/support.py
`acquire_stack`); every folder that talks to it uses these fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.stack import LocalStack
from tests.support import acquire_stack, release_stack, set_faults, wait_until_idle


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    yield acquire_stack()
    release_stack()


@pytest.fixture
def fresh(stack: LocalStack) -> Iterator[LocalStack]:
    """The demo companies as the data files describe them: nothing activated, no exports, no faults."""
    stack.load_demo()
    set_faults(stack, [])
    yield stack
    wait_until_idle(stack)
    set_faults(stack, [])
    stack.load_demo()
