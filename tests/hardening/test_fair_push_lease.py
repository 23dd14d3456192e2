"""Fair at month end (issue 16 §4): the PowerOffice push lease is taken chunk by chunk, in the order exports
started waiting, so a 20-line export is not held behind a 10,000-line one."""

from __future__ import annotations

import time

import boto3

from abax_payroll.store import PayrollStore
from abax_payroll.store.leases import WAITER_STALE_S
from local.aws import REGION, TABLE
from local.stack import LocalStack

LARGE = "20261130T000000000Z-1a2e0000"  # 10,000 lines: 100 chunks
SMALL = "20261130T000001000Z-5a1100"  # 20 lines: one chunk


def _leases(fresh: LocalStack):  # type: ignore[no-untyped-def]
    boto3.setup_default_session(region_name=REGION)
    return PayrollStore(TABLE).leases


def _try(leases, holder: str) -> bool:  # type: ignore[no-untyped-def]
    """One turn of the push loop: take the lease if it is this export's turn, else wait in line."""
    if (
        leases.my_turn("PUSH", holder, leases.peek("PUSH"))
        and leases.acquire_lease("PUSH", holder, 120) is not None
    ):
        return True
    leases.wait_in_line("PUSH", holder)
    return False


def test_a_small_export_pushes_between_two_chunks_of_a_large_one(fresh: LocalStack) -> None:
    leases = _leases(fresh)
    order: list[str] = []
    assert _try(leases, LARGE)  # the large export's first chunk
    assert not _try(leases, SMALL)  # the small one comes and waits
    leases.release_lease("PUSH", LARGE)
    order.append(LARGE)

    # The large export's next chunk finds the lease free, and still lets the small one go first ...
    assert not _try(leases, LARGE)
    assert _try(leases, SMALL)
    leases.release_lease("PUSH", SMALL)
    order.append(SMALL)
    # ... then goes on with its 99 chunks.
    for _ in range(3):
        assert _try(leases, LARGE)
        leases.release_lease("PUSH", LARGE)
        order.append(LARGE)

    assert order == [
        LARGE,
        SMALL,
        LARGE,
        LARGE,
        LARGE,
    ]  # the 20 lines waited for one chunk, not for 10,000 lines


def test_a_waiter_that_went_silent_does_not_hold_the_line(fresh: LocalStack) -> None:
    leases = _leases(fresh)
    assert _try(leases, LARGE)
    assert not _try(leases, SMALL)
    leases.release_lease("PUSH", LARGE)
    # The small export's function died while it waited: its place lapses after WAITER_STALE_S.
    lease = leases.peek("PUSH")
    assert lease is not None
    silent = {**lease, f"s_{SMALL}": time.time() - WAITER_STALE_S - 1}
    assert not leases.my_turn("PUSH", LARGE, lease)
    assert leases.my_turn("PUSH", LARGE, silent)
    leases.forget_stale_waiters("PUSH", silent)
    assert not any(key.endswith(SMALL) for key in leases.peek("PUSH") or {})


def test_a_waiter_knows_its_place_in_line(fresh: LocalStack) -> None:
    """How many go first (the holder and every live waiter that waited longer) decides how often a waiter reads
    the lease: the next in line reads it often, the hundredth seldom."""
    leases = _leases(fresh)
    waiters = [f"20261130T00000{n}000Z-wait{n}" for n in range(1, 4)]
    assert _try(leases, LARGE)
    for waiter in waiters:
        assert not _try(leases, waiter)
    lease = leases.peek("PUSH")
    assert [leases.ahead_of(waiter, lease) for waiter in waiters] == [1, 2, 3]
    assert leases.ahead_of("a-newcomer-not-in-line", lease) == 4
    # A waiter gone silent no longer counts; once the holder lets go, the first waiter's turn has come.
    silent = {**(lease or {}), f"s_{waiters[0]}": time.time() - WAITER_STALE_S - 1}
    assert leases.ahead_of(waiters[2], silent) == 2
    leases.release_lease("PUSH", LARGE)
    assert leases.ahead_of(waiters[0], leases.peek("PUSH")) == 0
    assert leases.ahead_of(waiters[1], leases.peek("PUSH")) == 1
