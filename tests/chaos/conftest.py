"""The chaos scenarios load their own companies into the one local stack; the next test gets the demo back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.stack import LocalStack
from tests.support import set_faults


@pytest.fixture
def own_companies(stack: LocalStack) -> Iterator[LocalStack]:
    yield stack
    set_faults(stack, [])
    stack.load_demo()
