"""Platform-wide leases (the one pusher draining the push queue) and what a holder hands over to the next."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .table import PLATFORM, Table, plain_floats


def _lease(name: str) -> dict[str, str]:
    return {"pk": PLATFORM, "sk": f"LEASE#{name}"}


class LeaseStore:
    def __init__(self, table: Table):
        self.table = table

    def acquire_lease(self, name: str, holder: str, seconds: float) -> dict[str, Any] | None:
        """Hold a platform-wide lease (e.g. draining the push queue) until released or expired.

        None while another holds it; else what the previous holder left at release (its handover).
        """
        now = time.time()
        until, at = Decimal(str(round(now + seconds, 3))), Decimal(str(round(now, 3)))
        answer = self._update(
            name,
            "SET holder = :me, expires_at = :until",
            "attribute_not_exists(pk) OR expires_at < :now OR holder = :me",
            {":me": holder, ":until": until, ":now": at},
            ReturnValues="ALL_OLD",
        )
        if answer is None:
            return None
        return dict(plain_floats(answer.get("Attributes", {}).get("handover") or {}))

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
