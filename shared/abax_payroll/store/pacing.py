"""A request window shared by every Lambda instance that calls one API client (ABAX's 60 requests a minute).

One small item per API client holds the send times (epoch seconds) of its last `limit` requests, the same
sliding log the PowerOffice limiter hands over with the pusher's lease. An instance reserves its next send with
one conditional update (the version it last saw); it re-reads only when another instance wrote in between.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from .table import PLATFORM, Table, plain_floats

ATTEMPTS = 20  # conditional writes lost to other instances before giving up (each loss means another sent)


class PacingConflict(RuntimeError):
    """Other instances kept winning the window's item; the caller's request was not reserved."""


def _window_key(client: str) -> dict[str, str]:
    # The API client id hashed: the item names the client without keeping its id in the table.
    return {"pk": PLATFORM, "sk": "PACE#" + hashlib.sha256(client.encode()).hexdigest()[:32]}


def next_slot(sent: Sequence[float], now: float, limit: int, window_s: float) -> float:
    """The earliest send time from `now` that keeps every `window_s` window at `limit` sends at most."""
    recent = sorted(t for t in sent if t > now - window_s)
    if len(recent) < limit:
        return now
    return max(now, recent[-limit] + window_s)


class PacingStore:
    def __init__(self, table: Table, wall: Callable[[], float] = time.time):
        self.table = table
        self._wall = wall
        # The window as this instance last wrote or read it: the next reservation writes against it directly.
        self._known: dict[str, tuple[int, list[float]]] = {}

    def reserve(self, client: str, limit: int, window_s: float, margin_s: float = 0.0) -> float:
        """Reserve the next send of `client` under `limit` per `window_s`; its wall-clock time (epoch s).

        `margin_s` widens the window: the server counts arrival times, and a send can leave a little after
        its slot. A reserved slot that is never used only makes the next sends wait a little longer.
        """
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be at least 1 and window_s positive")
        key = _window_key(client)
        known = self._known.get(key["sk"])
        if known is None:
            # A new instance reads the window first (a read costs less than a write): written blindly, its
            # first reservation would be refused (and billed) whenever any instance had used the client before.
            known = self._read(key)
        version, sent = known
        for _ in range(ATTEMPTS):
            now = self._wall()
            # Whole milliseconds, rounded up (never a send earlier than the window allows).
            slot = math.ceil(next_slot(sent, now, limit, window_s + margin_s) * 1000) / 1000
            kept = sorted([t for t in sent if t > now - window_s - margin_s] + [slot])[-limit:]
            condition = "attribute_not_exists(pk)" if version == 0 else "v = :seen"
            values: dict[str, Any] = {
                ":sent": [Decimal(str(t)) for t in kept],
                ":next": version + 1,
            }
            if version:
                values[":seen"] = version
            answer = self.table.conditional(
                self.table.resource.update_item,
                Key=key,
                UpdateExpression="SET sent = :sent, v = :next",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
            if answer is not None:
                self._known[key["sk"]] = (version + 1, kept)
                return slot
            # Another instance sent meanwhile: read the window as it stands and try again.
            version, sent = self._read(key)
        raise PacingConflict(f"could not reserve a request slot after {ATTEMPTS} attempts")

    def _read(self, key: dict[str, str]) -> tuple[int, list[float]]:
        item = self.table.get(key["pk"], key["sk"], consistent=True) or {}
        return int(item.get("v", 0)), [float(t) for t in plain_floats(item.get("sent", []))]
