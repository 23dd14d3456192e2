"""ABAX's 60 requests a minute per API client, kept by every Lambda instance calling with one client id: the
instances share one window in the table (store/pacing.py), so together they never exceed the limit."""

from __future__ import annotations

import random

import boto3

from abax_payroll.store import PayrollStore
from abax_payroll.store.pacing import PacingStore, next_slot
from local.aws import REGION, TABLE
from local.stack import LocalStack

LIMIT = 5
WINDOW_S = 60.0


class Clock:
    """One wall clock for both instances: the simulation moves it to the moment an instance acts."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _instance(clock: Clock) -> PacingStore:
    """What a Lambda instance has: its own store objects (own connection, own memory of the window)."""
    boto3.setup_default_session(region_name=REGION)
    return PacingStore(PayrollStore(TABLE).table, wall=clock)


def _most_in_any_window(sent: list[float], window_s: float) -> int:
    sent = sorted(sent)
    return max(sum(1 for t in sent[i:] if t < start + window_s) for i, start in enumerate(sent))


def test_two_instances_sharing_one_client_never_exceed_the_limit_in_any_minute(fresh: LocalStack) -> None:
    clock = Clock()
    instances = [_instance(clock), _instance(clock)]
    ready = [clock.now, clock.now]  # when each instance next wants to send
    sent: dict[int, list[float]] = {0: [], 1: []}
    rng = random.Random(13)
    for _ in range(4 * LIMIT):
        who = min((0, 1), key=lambda index: (ready[index], rng.random()))
        clock.now = ready[who]
        slot = instances[who].reserve("abax:client-acme", LIMIT, WINDOW_S)
        assert slot >= clock.now
        sent[who].append(slot)  # it sleeps until its slot and sends
        ready[who] = slot + rng.uniform(0.0, 3.0)  # reads the answer, then wants the next call

    both = sent[0] + sent[1]
    assert sent[0] and sent[1]  # both instances sent, each in the window the other wrote to
    assert _most_in_any_window(both, WINDOW_S) == LIMIT  # the limit, and never over it
    # Paced, not serialised: the first minute's whole allowance goes out at once.
    assert sorted(both)[LIMIT - 1] - sorted(both)[0] < WINDOW_S


def test_another_client_id_has_a_window_of_its_own(fresh: LocalStack) -> None:
    clock = Clock()
    store = _instance(clock)
    for _ in range(LIMIT):
        assert store.reserve("abax:client-acme", LIMIT, WINDOW_S) == clock.now
    assert store.reserve("abax:client-acme", LIMIT, WINDOW_S) == clock.now + WINDOW_S
    assert store.reserve("abax:client-beta", LIMIT, WINDOW_S) == clock.now


def test_next_slot_waits_for_the_oldest_send_of_the_window_to_leave_it() -> None:
    assert next_slot([], 100.0, 2, 60.0) == 100.0
    assert next_slot([90.0], 100.0, 2, 60.0) == 100.0
    assert next_slot([90.0, 95.0], 100.0, 2, 60.0) == 150.0
    assert next_slot([10.0, 20.0], 100.0, 2, 60.0) == 100.0  # both left the window
