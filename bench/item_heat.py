"""The busiest DynamoDB item: reads and writes of each item per wall-clock second, from every boto3 call.

Method: botocore's `before-call.dynamodb` / `after-call.dynamodb` on boto3's default session (as
dynamo_meter.py). A GetItem reads its key; a Query reads every item it returns; a ConditionCheck reads its
item; Put/Update/Delete (alone, batched or in a transaction) write theirs. Counted per (pk, sk) and second;
the busiest second of any one item is what DynamoDB's per-item limits (and a hot partition) are about.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any


def _key(key: dict[str, Any]) -> str:
    return f"{key.get('pk', {}).get('S', '?')}|{key.get('sk', {}).get('S', '?')}"


class ItemHeat:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reads: Counter[tuple[str, int]] = Counter()
        self.writes: Counter[tuple[str, int]] = Counter()
        self._pending = threading.local()

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        body = json.loads(params.get("body") or b"{}")
        second = int(time.time())
        reads: list[str] = []
        writes: list[str] = []
        if model.name == "GetItem":
            reads.append(_key(body["Key"]))
        elif model.name == "PutItem":
            writes.append(_key(body["Item"]))
        elif model.name in ("UpdateItem", "DeleteItem"):
            writes.append(_key(body["Key"]))
        elif model.name == "BatchWriteItem":
            for requests in body["RequestItems"].values():
                for request in requests:
                    put = request.get("PutRequest")
                    writes.append(_key(put["Item"] if put else request["DeleteRequest"]["Key"]))
        elif model.name == "TransactWriteItems":
            for entry in body["TransactItems"]:
                ((kind, op),) = entry.items()
                (reads if kind == "ConditionCheck" else writes).append(_key(op.get("Key") or op.get("Item")))
        self._pending.value = model.name
        with self._lock:
            self.reads.update((key, second) for key in reads)
            self.writes.update((key, second) for key in writes)

    def after_call(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name != "Query":
            return
        second = int(time.time())
        with self._lock:
            self.reads.update((_key(item), second) for item in parsed.get("Items", []))

    def install(self) -> ItemHeat:
        import boto3

        events = boto3._get_default_session().events  # noqa: SLF001 - the session every product client comes from
        events.register("before-call.dynamodb", self.before_call, unique_id="bench-heat-before")
        events.register("after-call.dynamodb", self.after_call, unique_id="bench-heat-after")
        return self

    def reset(self) -> None:
        with self._lock:
            self.reads.clear()
            self.writes.clear()

    def totals(self) -> dict[str, int]:
        """Every item read and written since the last reset (a read of an item up to 4 KB is one read unit)."""
        with self._lock:
            return {"reads": sum(self.reads.values()), "writes": sum(self.writes.values())}

    def busiest(self) -> dict[str, Any]:
        """The item-second with the most reads, and the one with the most writes."""
        with self._lock:
            read = self.reads.most_common(1)
            write = self.writes.most_common(1)
        return {
            "reads_per_s": read[0][1] if read else 0,
            "read_item": read[0][0][0] if read else "",
            "writes_per_s": write[0][1] if write else 0,
            "write_item": write[0][0][0] if write else "",
        }
