"""A few seeds of the chaos harness in the default suite (`make chaos` runs hundreds).

Each seed is a random sequence over two companies of PowerOffice Go and ABAX faults, killed Lambda
invocations, stopped runs and the clerk's actions; after it settles, PowerOffice Go's salary lines, the
previews and the API must agree (tests/chaos/driver.py lists the invariants). A failure names the seed,
the invariant, the export, the lines in Go against the record, and the command that runs the seed again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.stack import LocalStack
from tests.chaos.driver import reproduction, run_seed
from tests.support import set_faults

CI_SEEDS = (3,)
COMPANIES = 2
EVENTS = 8


@pytest.fixture
def own_companies(stack: LocalStack) -> Iterator[LocalStack]:
    """The scenario loads its own companies; the next test gets the demo companies back."""
    yield stack
    set_faults(stack, [])
    stack.load_demo()


@pytest.mark.parametrize("seed", CI_SEEDS)
def test_a_random_sequence_leaves_every_trip_paid_once_and_every_export_true_to_go(
    own_companies: LocalStack, seed: int
) -> None:
    violations = run_seed(own_companies, seed, COMPANIES, event_count=EVENTS)

    assert not violations, "\n".join(
        [*map(str, violations), f"reproduce: {reproduction(seed, COMPANIES, EVENTS)}"]
    )
