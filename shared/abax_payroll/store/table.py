"""The single DynamoDB table every store room shares: keys, packing, paging and the conditional write."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from ..errors import RunSuperseded

PLATFORM = "PLATFORM"  # partition of platform-wide items (leases)
# A transaction holds at most 100 actions and 4 MB: fenced writes go in groups of 99 beside their fence, and of
# at most about 3 MB (estimated from the request's text, which overstates binary values).
TRANSACTION_WRITES = 99
TRANSACTION_BYTES = 3_000_000
_serializer = TypeSerializer()
# Throttling (ProvisionedThroughputExceeded, ThrottlingException, RequestLimitExceeded) and transient errors
# are retried with exponential backoff and jitter (botocore's standard mode), never handed to a step as its end.
RETRIES = Config(retries={"mode": "standard", "max_attempts": 10})


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def pack(value: Any, level: int = 6) -> bytes:
    """Compact storage for bulky lists: write units are charged per KB."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # "ø" in 2 bytes, not 6
    return gzip.compress(text.encode(), compresslevel=level)


def unpack(blob: Any) -> Any:
    raw = blob.value if hasattr(blob, "value") else blob
    return json.loads(gzip.decompress(bytes(raw)))


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; make records JSON-friendly ints where they are ints."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def plain_floats(value: Any) -> Any:
    """DynamoDB numbers as floats (for measurements such as times, not money)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: plain_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_floats(item) for item in value]
    return value


def strip_keys(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in ("pk", "sk", "gsi1pk", "gsi1sk")}


class Table:
    def __init__(self, name: str):
        self.name = name
        self._per_thread = threading.local()

    @property
    def resource(self) -> Any:
        """One boto3 resource per thread: resources are not thread-safe (their condition-expression builder
        shares placeholder counters), and the local stack runs many invocations on threads at once."""
        table = getattr(self._per_thread, "table", None)
        if table is None:
            table = self._per_thread.table = boto3.resource("dynamodb", config=RETRIES).Table(self.name)
        return table

    @property
    def client(self) -> Any:
        """A low-level client per thread, for requests in DynamoDB's own types (transactions: the resource's
        client would serialise those values a second time)."""
        client = getattr(self._per_thread, "client", None)
        if client is None:
            client = self._per_thread.client = boto3.client("dynamodb", config=RETRIES)
        return client

    def get(self, pk: str, sk: str, consistent: bool = False, **kwargs: Any) -> dict[str, Any] | None:
        item = self.resource.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=consistent, **kwargs).get(
            "Item"
        )
        return dict(item) if item is not None else None

    def put(self, pk: str, sk: str, attributes: Mapping[str, Any]) -> None:
        self.resource.put_item(Item={"pk": pk, "sk": sk, **attributes})

    def delete(self, pk: str, sk: str) -> None:
        self.resource.delete_item(Key={"pk": pk, "sk": sk})

    def conditional(self, write: Callable[..., Any], **kwargs: Any) -> Any | None:
        """Run a conditional write (put_item, update_item, delete_item of this table's resource).

        Its answer, or None when the condition did not hold; any other error is raised.
        """
        try:
            return write(**kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise

    def low_level(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Attribute values in the low-level client's form (for a transaction)."""
        return {name: _serializer.serialize(value) for name, value in attributes.items()}

    def write_fenced(self, fence: dict[str, Any], writes: Iterable[dict[str, Any]]) -> None:
        """Write these TransactWriteItems actions (Put, Update, Delete of this table, low-level form) only
        while `fence` (ExportStore.fence: a ConditionCheck on the export's record) holds: each transaction
        carries it, so a run that has moved on writes nothing more (RunSuperseded); a group written before
        it moved on stays written, as the write of a live run does."""
        group: list[dict[str, Any]] = []
        size = 0
        for write in writes:
            estimate = len(repr(write))
            if group and (len(group) >= TRANSACTION_WRITES or size + estimate > TRANSACTION_BYTES):
                self._transact(fence, group)
                group, size = [], 0
            group.append(write)
            size += estimate
        if group:
            self._transact(fence, group)

    def update_items(self, updates: list[dict[str, Any]], fence: dict[str, Any] | None = None) -> None:
        """update_item calls (each given as the resource's keyword arguments); with `fence`, the same updates
        as fenced transactions (write_fenced)."""
        if fence is None:
            for update in updates:
                self.resource.update_item(**update)
            return
        self.write_fenced(
            fence,
            (
                {
                    "Update": {
                        **update,
                        "TableName": self.name,
                        "Key": self.low_level(update["Key"]),
                        **(
                            {"ExpressionAttributeValues": self.low_level(update["ExpressionAttributeValues"])}
                            if "ExpressionAttributeValues" in update
                            else {}
                        ),
                    }
                }
                for update in updates
            ),
        )

    def _transact(self, fence: dict[str, Any], writes: list[dict[str, Any]]) -> None:
        try:
            self.client.transact_write_items(TransactItems=[fence, *writes])
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise RunSuperseded(
                    "the export has moved on from this run: nothing more is written"
                ) from None
            raise

    def query_prefix(self, pk: str, prefix: str, keys_only: bool = False) -> Iterable[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(pk) & Key("sk").begins_with(prefix),
            "ConsistentRead": True,
        }
        if keys_only:
            kwargs["ProjectionExpression"] = "pk, sk"
        yield from self.query(**kwargs)

    def query(self, **kwargs: Any) -> Iterable[dict[str, Any]]:
        """Every item of a query, page after page."""
        while True:
            page = self.resource.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
