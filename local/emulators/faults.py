"""Fault rules shared by both emulators: request nth (counted from installation) and times-1 after it fail or answer late."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass
class FaultRule:
    method: str  # "*" matches every method
    path: str
    nth: int = 1
    times: int = 1
    status: int | None = 500  # None: only answer late (delay_s), then normally
    delay_s: float = 0.0
    after_commit: bool = False  # PowerOffice: do the work, then answer with the failure
    exact_path: bool = False  # ABAX rules name one path exactly; PowerOffice rules a path prefix
    seen: int = 0

    @classmethod
    def from_json(
        cls, raw: dict[str, Any], *, default_status: int | None = 500, exact_path: bool = False
    ) -> FaultRule:
        status = raw.get("status", default_status)
        return cls(
            method=str(raw.get("method", "*")).upper(),
            path=str(raw.get("path", "")),
            nth=int(raw.get("nth", 1)),
            times=int(raw.get("times", 1)),
            status=None if status is None else int(status),
            delay_s=float(raw.get("delay_s", 0) or 0),
            after_commit=bool(raw.get("after_commit", False)),
            exact_path=exact_path,
        )

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method):
            return False
        return path == self.path if self.exact_path else path.lower().startswith(self.path.lower())

    def fires(self) -> bool:
        """Count one matching request; True when it is one of the failing ones."""
        self.seen += 1
        return self.nth <= self.seen < self.nth + self.times


def firing_rule(rules: Iterable[FaultRule], method: str, path: str) -> FaultRule | None:
    """Every matching rule counts the request; the first one that fires decides the answer."""
    fired = None
    for rule in rules:
        if rule.matches(method, path) and rule.fires() and fired is None:
            fired = rule
    return fired
