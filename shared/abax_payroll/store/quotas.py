"""Each company's share of the API: its requests counted in fixed windows, one small item per company and window.

API Gateway's stage limit is one budget for every company; a company's open tabs polling an export could
spend it for all. A request is admitted with one conditional update (count below the company's limit in the
current window); the item expires with DynamoDB's TTL a minute after its window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .table import Table, tenant_pk


class QuotaStore:
    def __init__(self, table: Table, wall: Callable[[], float] = time.time):
        self.table = table
        self._wall = wall

    def admit(self, tenant_id: str, limit: int, window_s: int) -> int | None:
        """None when the company's request fits its `limit` per `window_s`; else whole seconds until it would."""
        now = self._wall()
        start = int(now // window_s) * window_s
        admitted = self.table.conditional(
            self.table.resource.update_item,
            Key={"pk": tenant_pk(tenant_id), "sk": f"QUOTA#{start}"},
            UpdateExpression="ADD requests :one SET expires_at = :expires",
            ConditionExpression="attribute_not_exists(requests) OR requests < :limit",
            ExpressionAttributeValues={":one": 1, ":limit": limit, ":expires": start + window_s + 60},
        )
        return None if admitted is not None else max(1, math.ceil(start + window_s - now))
