"""Count DynamoDB write capacity units the way AWS bills them, by watching every boto3 DynamoDB call.

Method: botocore's `before-call.dynamodb` / `after-call.dynamodb` events on boto3's default session
(every client the product creates afterwards inherits them). For each write we take the item's size
before the write (from moto's table) and after it (the request's item for a put, moto's table after an
update), and charge ceil(max(before, after) / 1 KB) write units, at least 1 (a failed conditional write
costs 1 as well), doubled inside TransactWriteItems. Item size follows AWS's rules: attribute names in
UTF-8 bytes plus values (strings in UTF-8 bytes, binary in bytes, numbers about 1 byte per 2 significant
digits + 1, maps/lists 3 bytes + 1 per element).
"""

from __future__ import annotations

import base64
import json
import math
import threading
from collections import Counter
from typing import Any

WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        digits = raw.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(base64.b64decode(raw)) if isinstance(raw, str) else len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_size(item) + 1 for name, item in raw.items())
    if kind == "L":
        return 3 + sum(value_size(item) + 1 for item in raw)
    if kind == "SS":
        return sum(len(item.encode()) for item in raw)
    if kind == "NS":
        return sum(value_size({"N": item}) for item in raw)
    if kind == "BS":
        return sum(len(base64.b64decode(item)) for item in raw)
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(attributes: dict[str, Any] | None) -> int:
    if not attributes:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in attributes.items())


def units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


class DynamoWriteMeter:
    """Install once; `snapshot()`/`since()` give write units, calls and units by item kind."""

    def __init__(self, account: str, region: str) -> None:
        self._account = account
        self._region = region
        self._lock = threading.Lock()
        self.wcu = 0
        self.writes = 0  # items written (a batch of 25 counts 25)
        self.calls: Counter[str] = Counter()
        self.by_kind: Counter[str] = Counter()
        self._pending = threading.local()
        self.trace: list[tuple[str, str, int]] | None = (
            None  # (operation, sort key, units) of each item, when set to []
        )

    # -- the table as moto holds it -------------------------------------------------------------
    def _stored(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        from moto.dynamodb.models import dynamodb_backends

        for _ in range(5):  # moto's items are plain dicts that other threads may be writing right now
            try:
                item = dynamodb_backends[self._account][self._region].get_item(table, key)
                return item.to_json()["Attributes"] if item is not None else None
            except RuntimeError:
                continue
            except Exception:  # noqa: BLE001 - a missing table is simply nothing stored
                return None
        return None

    @staticmethod
    def _kind(key: dict[str, Any]) -> str:
        sort_key = key.get("sk", {}).get("S", "")
        return sort_key.split("#", 1)[0] or "?"

    @staticmethod
    def _key(item: dict[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in ("pk", "sk") if name in item}

    # -- botocore hooks --------------------------------------------------------------------------
    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        operation = model.name
        if operation not in WRITE_OPERATIONS:
            return
        body = json.loads(params.get("body") or b"{}")
        writes: list[
            tuple[str, dict[str, Any], dict[str, Any] | None, int, int]
        ] = []  # table, key, put item, factor, before
        if operation == "PutItem":
            writes.append((body["TableName"], self._key(body["Item"]), body["Item"], 1, 0))
        elif operation in ("UpdateItem", "DeleteItem"):
            writes.append((body["TableName"], body["Key"], None, 1, 0))
        elif operation == "BatchWriteItem":
            for table, requests in body["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        writes.append((table, self._key(item), item, 1, 0))
                    else:
                        writes.append((table, request["DeleteRequest"]["Key"], None, 1, 0))
        else:  # TransactWriteItems: every item costs twice
            for entry in body["TransactItems"]:
                if "Put" in entry:
                    writes.append(
                        (
                            entry["Put"]["TableName"],
                            self._key(entry["Put"]["Item"]),
                            entry["Put"]["Item"],
                            2,
                            0,
                        )
                    )
                elif "Update" in entry:
                    writes.append((entry["Update"]["TableName"], entry["Update"]["Key"], None, 2, 0))
                elif "Delete" in entry:
                    writes.append((entry["Delete"]["TableName"], entry["Delete"]["Key"], None, 2, 0))
                else:  # ConditionCheck: a read, not a write
                    continue
        measured = [
            (table, key, item, factor, item_size(self._stored(table, key)))
            for table, key, item, factor, _ in writes
        ]
        self._pending.value = (operation, measured)

    def after_call(self, model: Any, **_: Any) -> None:
        if model.name not in WRITE_OPERATIONS:
            return
        operation, measured = getattr(self._pending, "value", (None, []))
        self._pending.value = (None, [])
        if operation != model.name:
            return
        total = 0
        kinds: Counter[str] = Counter()
        for table, key, item, factor, before in measured:
            after = item_size(item) if item is not None else item_size(self._stored(table, key))
            cost = units(max(before, after)) * factor
            total += cost
            kinds[self._kind(key)] += cost
            if self.trace is not None:
                self.trace.append((operation, key.get("sk", {}).get("S", "?"), cost))
        with self._lock:
            self.wcu += total
            self.writes += len(measured)
            self.calls[operation] += 1
            self.by_kind.update(kinds)

    def install(self) -> DynamoWriteMeter:
        import boto3

        events = boto3._get_default_session().events  # noqa: SLF001 - the session every product client comes from
        events.register("before-call.dynamodb", self.before_call, unique_id="bench-wcu-before")
        events.register("after-call.dynamodb", self.after_call, unique_id="bench-wcu-after")
        return self

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "wcu": self.wcu,
                "writes": self.writes,
                "calls": Counter(self.calls),
                "by_kind": Counter(self.by_kind),
            }

    def since(self, before: dict[str, Any]) -> dict[str, Any]:
        now = self.snapshot()
        return {
            "wcu": now["wcu"] - before["wcu"],
            "writes": now["writes"] - before["writes"],
            "calls": dict(now["calls"] - before["calls"]),
            "by_kind": dict(now["by_kind"] - before["by_kind"]),
        }
