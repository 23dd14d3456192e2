"""The push queue: one item per chunk waiting for PowerOffice Go (its run and task token), read by the one pusher.

A chunk that must wait costs no Lambda time and no reads: its Step Functions task waits on its task token,
and this item is all that stands for it. Items are keyed by the chunk (`<tenant>#<export>#<chunk>`), so each
is written when its chunk is queued, once when the pusher takes it, and deleted when it was answered: no item
is shared by the waiters. Only the pusher reads the queue (one query at most about once a second).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

from .table import PLATFORM, Table

QUEUE = "PUSHQ"  # the partition of the waiting chunks (platform-wide: PowerOffice's limit is the platform's)


def _sk(tenant_id: str, export_id: str, chunk: int) -> str:
    return f"{tenant_id}#{export_id}#{chunk:05d}"


@dataclass(frozen=True)
class QueuedChunk:
    """A chunk waiting for the pusher: which run queued it and the token its Step Functions task waits on."""

    tenant_id: str
    export_id: str
    chunk: int
    run: str
    token: str
    action: str
    queued_at: float
    taken_until: float = 0.0  # while the pusher pushes it (epoch s); 0: waiting
    heartbeat_at: float = 0.0

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> QueuedChunk:
        return cls(
            tenant_id=str(item["tenant_id"]),
            export_id=str(item["export_id"]),
            chunk=int(item["chunk"]),
            run=str(item["run"]),
            token=str(item["token"]),
            action=str(item.get("action") or "push"),
            queued_at=float(item["queued_at"]),
            taken_until=float(item.get("taken_until") or 0),
            heartbeat_at=float(item.get("heartbeat_at") or item["queued_at"]),
        )


def _seconds(value: float) -> Decimal:
    return Decimal(str(round(value, 3)))


class PushQueue:
    def __init__(self, table: Table):
        self.table = table

    def put(
        self, tenant_id: str, export_id: str, chunk: int, run: str, token: str, action: str = "push"
    ) -> None:
        """Queue a chunk (a retried enqueue keeps its place in line and takes the newer token)."""
        now = _seconds(time.time())
        self.table.resource.update_item(
            Key={"pk": QUEUE, "sk": _sk(tenant_id, export_id, chunk)},
            UpdateExpression=(
                "SET tenant_id = :tenant, export_id = :export, chunk = :chunk, #run = :run, #token = :token, "
                "#action = :action, queued_at = if_not_exists(queued_at, :now), heartbeat_at = :now "
                "REMOVE taken_until"
            ),
            ExpressionAttributeNames={"#run": "run", "#token": "token", "#action": "action"},
            ExpressionAttributeValues={
                ":tenant": tenant_id,
                ":export": export_id,
                ":chunk": chunk,
                ":run": run,
                ":token": token,
                ":action": action,
                ":now": now,
            },
        )

    def waiting(self) -> list[QueuedChunk]:
        """Every queued chunk, taken or not (the pusher's one query; each item read once)."""
        return [
            QueuedChunk.of(item)
            for item in self.table.query(KeyConditionExpression=Key("pk").eq(QUEUE), ConsistentRead=True)
        ]

    def take(self, entry: QueuedChunk, seconds: float) -> bool:
        """Mark the chunk as being pushed for `seconds` (renewed while it is); False when it was queued again
        meanwhile (another token) or is gone."""
        answer = self.table.conditional(
            self.table.resource.update_item,
            Key={"pk": QUEUE, "sk": _sk(entry.tenant_id, entry.export_id, entry.chunk)},
            UpdateExpression="SET taken_until = :until",
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":until": _seconds(time.time() + seconds), ":token": entry.token},
        )
        return answer is not None

    def heard(self, entry: QueuedChunk) -> None:
        """The pusher sent the waiting task a heartbeat now."""
        self.table.conditional(
            self.table.resource.update_item,
            Key={"pk": QUEUE, "sk": _sk(entry.tenant_id, entry.export_id, entry.chunk)},
            UpdateExpression="SET heartbeat_at = :now",
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":now": _seconds(time.time()), ":token": entry.token},
        )

    def remove(self, entry: QueuedChunk) -> None:
        """Done with the chunk (answered, or its run is gone); a newer entry of the same chunk stays."""
        self.table.conditional(
            self.table.resource.delete_item,
            Key={"pk": QUEUE, "sk": _sk(entry.tenant_id, entry.export_id, entry.chunk)},
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":token": entry.token},
        )

    def in_flight(self, tenant_id: str, export_id: str) -> bool:
        """Whether the pusher is pushing a chunk of this export now (it took it and its hold has not run out)."""
        now = time.time()
        return any(
            float(item.get("taken_until") or 0) > now
            for item in self.table.query(
                KeyConditionExpression=Key("pk").eq(QUEUE)
                & Key("sk").begins_with(f"{tenant_id}#{export_id}#"),
                ConsistentRead=True,
            )
        )


class PusherNudge:
    """Wakes the pusher function (an asynchronous invoke: the caller never waits for it)."""

    def __init__(self, function_name: str | None, client: Any = None):
        self.function_name = function_name or ""
        self._client = client

    def __call__(self) -> None:
        if not self.function_name:
            return  # not configured (a unit test): the schedule wakes the pusher
        if self._client is None:
            self._client = boto3.client("lambda")
        self._client.invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=b'{"source": "abax-payroll.push-queue"}',
        )


__all__ = ["PLATFORM", "PushQueue", "PusherNudge", "QueuedChunk"]
