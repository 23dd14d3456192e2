"""Client-side pacing so every caller sharing a subscription key stays under PowerOffice Go's 10 requests/s."""

from __future__ import annotations

import hashlib
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

HANDOVER_SENDS = 50


class RateLimiter(Protocol):
    def acquire(self) -> None:
        """Block until one more request may be sent."""
        ...


class LocalRateLimiter:
    """Thread-safe blocking limiter for one process.

    Two rules hold together: a token bucket (`burst` requests back to back, then one every
    1/rate seconds) and a sliding log so that no window of 1 s (+ a small margin for network
    jitter, because the server counts arrival times, not send times) holds more than `rate` grants.
    """

    def __init__(
        self,
        requests_per_second: float = 10,
        burst: int = 1,
        *,
        window_margin_s: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self.identity = uuid.uuid4().hex  # tells a limiter's own handover from another instance's
        self._burst = burst
        self._window = 1.0 + window_margin_s
        self._granted: deque[float] = deque()
        self._theoretical_arrival = -math.inf
        self._set_rate(requests_per_second)

    @property
    def requests_per_second(self) -> float:
        return self._rate

    def set_rate(self, requests_per_second: float) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        with self._lock:
            self._set_rate(requests_per_second)

    def _set_rate(self, requests_per_second: float) -> None:
        self._rate = float(requests_per_second)
        self._interval = 1.0 / self._rate
        # A fractional rate such as 2.5/s still allows at least one request per window.
        self._per_window = max(1, math.floor(self._rate))

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            # GCRA form of the token bucket: the earliest moment the bucket has a token again.
            slot = max(now, self._theoretical_arrival - (self._burst - 1) * self._interval)
            while self._granted and self._granted[0] <= slot - self._window:
                self._granted.popleft()
            if len(self._granted) >= self._per_window:
                slot = max(slot, self._granted[-self._per_window] + self._window)
            self._theoretical_arrival = max(self._theoretical_arrival, slot) + self._interval
            # Reserve the slot before sleeping so concurrent callers queue behind it.
            self._granted.append(slot)
            while len(self._granted) > self._per_window:
                self._granted.popleft()
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        released = self._clock()
        if released > slot:
            # Woke late (a busy machine, a descheduled thread): the server sees this request later than its
            # slot, so the window rule must too, or the next grants could pack rate + 1 into one of its seconds.
            with self._lock:
                if slot in self._granted:
                    self._granted.remove(slot)
                    self._granted.append(released)
                    self._granted = deque(sorted(self._granted))

    # The window travels between processes: each Lambda instance has a limiter of its own, and the push
    # lease hands the last second's sends from one pusher to the next, which would otherwise start with an
    # empty window while PowerOffice still counts its predecessor's requests.
    def handover(self) -> dict[str, Any]:
        """This limiter's id and the wall-clock times (epoch seconds) of its grants still inside the window."""
        with self._lock:
            offset = self._wall() - self._clock()
            horizon = self._clock() - self._window
            sent = [round(granted + offset, 3) for granted in self._granted if granted > horizon]
        # The whole window at PowerOffice's 10 requests/s; at a far higher limit, its newest part (the lease
        # item holding it stays one write unit).
        return {"by": self.identity, "sent": sent[-HANDOVER_SENDS:]}

    def seed(self, handover: Mapping[str, Any]) -> None:
        """Count another limiter's recent sends (its handover) in this window; our own we know already."""
        sent = [float(t) for t in handover.get("sent", [])]
        if not sent or handover.get("by") == self.identity:
            return
        with self._lock:
            offset = self._wall() - self._clock()
            merged = sorted([*self._granted, *(t - offset for t in sent)])
            self._granted = deque(merged[-self._per_window :])
            self._theoretical_arrival = max(self._theoretical_arrival, self._granted[-1] + self._interval)


_shared_lock = threading.Lock()
_shared: dict[str, LocalRateLimiter] = {}


def shared_limiter(subscription_key: str, requests_per_second: float = 10) -> LocalRateLimiter:
    """The one limiter of this process for a subscription key (the limit is per key, across all tenants).

    Keyed by a hash so the raw key is never kept as a dictionary key; asking again with another rate
    re-rates the existing limiter instead of creating a second budget.
    """
    digest = hashlib.sha256(subscription_key.encode()).hexdigest()
    with _shared_lock:
        limiter = _shared.get(digest)
        if limiter is None:
            limiter = _shared[digest] = LocalRateLimiter(requests_per_second)
        elif limiter.requests_per_second != requests_per_second:
            limiter.set_rate(requests_per_second)
        return limiter
