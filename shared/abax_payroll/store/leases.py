"""Platform-wide leases (one push to PowerOffice Go at a time) and what a holder hands over."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .table import PLATFORM, Table, plain_floats


def _lease(name: str) -> dict[str, str]:
    return {"pk": PLATFORM, "sk": f"LEASE#{name}"}


# Waiting in line: "w_<holder>" is when the holder started waiting, "s_<holder>" when it last said it still
# waits. A waiter silent this long (its function died) no longer holds its place.
WAITER_STALE_S = 60.0
WAITER_HEARTBEAT_S = 20.0


class LeaseStore:
    def __init__(self, table: Table):
        self.table = table

    def acquire_lease(self, name: str, holder: str, seconds: int) -> dict[str, Any] | None:
        """Hold a platform-wide lease (e.g. pushing to PowerOffice) until released or expired.

        None while another holds it; else what the previous holder left at release (its handover).
        """
        now = time.time()
        until, at = Decimal(str(round(now + seconds, 3))), Decimal(str(round(now, 3)))
        answer = self._update(
            name,
            "SET holder = :me, expires_at = :until REMOVE #w, #s",
            "attribute_not_exists(pk) OR expires_at < :now OR holder = :me",
            {":me": holder, ":until": until, ":now": at},
            ReturnValues="ALL_OLD",
            ExpressionAttributeNames={"#w": f"w_{holder}", "#s": f"s_{holder}"},
        )
        if answer is None:
            return None
        return dict(plain_floats(answer.get("Attributes", {}).get("handover") or {}))

    def lease_looks_free(self, name: str, holder: str) -> bool:
        """A read before the conditional write: a refused conditional write still costs a write unit, and
        the export next in line for the push lease asks about 20 times a second."""
        item = self.peek(name)
        return item is None or item.get("expires_at", 0) < time.time() or item.get("holder") == holder

    def my_turn(self, name: str, holder: str, item: Mapping[str, Any] | None) -> bool:
        """Whether `holder` may take the lease now (`item` as `peek` read it): it is free (or expired, or
        held by `holder`) and no live waiter has waited longer. The lease is taken chunk by chunk, so an
        export that just pushed a chunk queues behind those that waited meanwhile: a 20-line export waits
        for one chunk of each export ahead of it, never for the whole of a 10,000-line one."""
        return self.ahead_of(holder, item) == 0

    def ahead_of(self, holder: str, item: Mapping[str, Any] | None) -> int:
        """How many go before `holder` (`item` as `peek` read it): another live holder, and every live waiter
        that has waited longer. 0: its turn."""
        if item is None:
            return 0
        now = time.time()
        held = item.get("holder") not in (None, holder) and item.get("expires_at", 0) >= now
        mine = item.get(f"w_{holder}", float("inf"))
        ahead = 0
        for key, since in item.items():
            if not key.startswith("w_") or key == f"w_{holder}":
                continue
            seen = item.get("s_" + key[2:], 0)
            if now - float(seen) < WAITER_STALE_S and float(since) < mine:
                ahead += 1
        return ahead + 1 if held else ahead

    def wait_in_line(self, name: str, holder: str) -> None:
        """Take (or keep) a place in the line for the lease: the first call sets it, later calls only say
        the holder still waits (one small write every WAITER_HEARTBEAT_S, not one per poll)."""
        at = Decimal(str(round(time.time(), 3)))
        self.table.resource.update_item(
            Key=_lease(name),
            UpdateExpression="SET #w = if_not_exists(#w, :now), #s = :now",
            ExpressionAttributeNames={"#w": f"w_{holder}", "#s": f"s_{holder}"},
            ExpressionAttributeValues={":now": at},
        )

    def forget_stale_waiters(self, name: str, item: Mapping[str, Any] | None) -> None:
        """Drop the places of waiters that went silent (their functions died), so the item stays small."""
        now = time.time()
        stale = [
            key[2:]
            for key in (item or {})
            if key.startswith("w_") and now - float((item or {}).get("s_" + key[2:], 0)) >= WAITER_STALE_S
        ]
        if not stale:
            return
        names = {
            f"#a{index}": f"{prefix}{holder}"
            for index, (prefix, holder) in enumerate((p, h) for h in stale for p in ("w_", "s_"))
        }
        self.table.resource.update_item(
            Key=_lease(name), UpdateExpression="REMOVE " + ", ".join(names), ExpressionAttributeNames=names
        )

    def peek(self, name: str) -> dict[str, Any] | None:
        """The lease as it stands (holder, expires_at, handover), without taking it."""
        item = self.table.get(PLATFORM, _lease(name)["sk"], consistent=True)
        return (
            None
            if item is None
            else {key: plain_floats(value) for key, value in item.items() if key not in _lease(name)}
        )

    def release_lease(self, name: str, holder: str, handover: Mapping[str, Any] | None = None) -> None:
        """Free the lease now, leaving `handover` (e.g. the last second's sends) for the next holder."""
        left = json.loads(json.dumps(handover or {}), parse_float=Decimal)
        self._update(
            name,
            "SET expires_at = :free, handover = :handover REMOVE holder",
            "holder = :me",
            {":me": holder, ":free": Decimal(0), ":handover": left},
        )

    def _update(
        self, name: str, update: str, condition: str, values: Mapping[str, Any], **options: Any
    ) -> Any | None:
        """A conditional update of the lease item; None when its condition did not hold."""
        return self.table.conditional(
            self.table.resource.update_item,
            Key=_lease(name),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            **options,
        )
