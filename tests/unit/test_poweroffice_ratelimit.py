"""The client-side rate limiter keeps every 1-second window at or under the PowerOffice Go limit."""

from __future__ import annotations

import threading
import time

import pytest

from abax_payroll.poweroffice import LocalRateLimiter, shared_limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _grants(limiter: LocalRateLimiter, clock: FakeClock, count: int) -> list[float]:
    times = []
    for _ in range(count):
        limiter.acquire()
        times.append(clock.now)
    return times


def _busiest_window(times: list[float], window: float = 1.0) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


@pytest.mark.parametrize(("rate", "burst"), [(10, 1), (10, 5), (3, 1), (2.5, 2)])
def test_no_window_of_one_second_exceeds_the_rate(rate: float, burst: int):
    clock = FakeClock()
    limiter = LocalRateLimiter(rate, burst, clock=clock, sleep=clock.sleep)
    times = _grants(limiter, clock, 60)
    assert _busiest_window(times) <= max(1, int(rate))


def test_burst_one_spaces_requests_evenly():
    clock = FakeClock()
    limiter = LocalRateLimiter(10, clock=clock, sleep=clock.sleep)
    times = _grants(limiter, clock, 5)
    assert [round(b - a, 6) for a, b in zip(times, times[1:], strict=False)] == [0.1] * 4


def test_burst_lets_the_first_requests_through_at_once():
    clock = FakeClock()
    limiter = LocalRateLimiter(10, burst=4, clock=clock, sleep=clock.sleep)
    assert _grants(limiter, clock, 4) == [100.0] * 4


def test_idle_time_does_not_pile_up_credit():
    clock = FakeClock()
    limiter = LocalRateLimiter(10, burst=2, clock=clock, sleep=clock.sleep)
    _grants(limiter, clock, 3)
    clock.now += 60
    times = _grants(limiter, clock, 20)
    assert _busiest_window(times) <= 10


def test_a_request_released_late_moves_the_window_with_it():
    """The server counts arrivals: a sender that wakes late must not let the next ones catch up on it."""
    clock = FakeClock()
    late = {"left": 3}

    def oversleeping(seconds: float) -> None:
        clock.sleep(seconds + (0.2 if late["left"] > 0 else 0.0))
        late["left"] -= 1

    limiter = LocalRateLimiter(10, window_margin_s=0.0, clock=clock, sleep=oversleeping)
    limiter.acquire()  # the first one needs no sleep
    times = [clock.now]
    for _ in range(30):
        limiter.acquire()
        times.append(clock.now)
    assert _busiest_window(times) <= 10


def _handover(seeded: bool) -> list[float]:
    """Pusher A (one Lambda instance) sends for a while; pusher B (another) takes the lease and goes on."""
    clock = FakeClock()
    first = LocalRateLimiter(10, clock=clock, sleep=clock.sleep, wall=clock)
    times = _grants(first, clock, 25)
    second = LocalRateLimiter(10, clock=clock, sleep=clock.sleep, wall=clock)
    if seeded:
        second.seed(first.handover())  # what the lease carries from A's release to B's acquire
    return times + _grants(second, clock, 25)


def test_the_next_pusher_counts_the_previous_pushers_last_second():
    assert _busiest_window(_handover(seeded=False)) > 10  # an empty window: PowerOffice would answer 429
    assert _busiest_window(_handover(seeded=True)) <= 10


def test_a_limiter_handed_its_own_sends_does_not_count_them_twice():
    """One process (the local stack, a warm Lambda instance) may push chunk after chunk itself."""

    def chunks(seeded: bool) -> list[float]:
        clock = FakeClock()
        limiter = LocalRateLimiter(10, clock=clock, sleep=clock.sleep, wall=clock)
        times = _grants(limiter, clock, 25)
        if seeded:
            limiter.seed(limiter.handover())
        return times + _grants(limiter, clock, 25)

    assert chunks(seeded=True) == chunks(seeded=False)


def test_threads_share_one_budget():
    limiter = LocalRateLimiter(50)
    granted: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(8):
            limiter.acquire()
            with lock:
                granted.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    granted.sort()
    assert len(granted) == 40
    # 40 grants at 50/s with burst 1 take at least 39 intervals, whichever thread asks; five separate budgets
    # would let them all out within 8 intervals. (A lower bound: a slow machine only makes it longer.)
    assert granted[-1] - granted[0] >= 39 / 50 - 0.01


def test_shared_limiter_is_one_per_subscription_key():
    first = shared_limiter("subscription-key-for-test-a")
    assert shared_limiter("subscription-key-for-test-a") is first
    assert shared_limiter("subscription-key-for-test-b") is not first
    assert shared_limiter("subscription-key-for-test-a", 5) is first
    assert first.requests_per_second == 5


def test_shared_limiter_does_not_keep_the_raw_key():
    from abax_payroll.poweroffice import ratelimit

    shared_limiter("raw-subscription-secret-7731")
    assert all("raw-subscription-secret-7731" not in key for key in ratelimit._shared)


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError):
        LocalRateLimiter(0)
    with pytest.raises(ValueError):
        LocalRateLimiter(10, burst=0)
