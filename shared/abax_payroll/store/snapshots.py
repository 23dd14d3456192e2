"""What ABAX answered, kept call by call: the raw pages in S3 (they outgrow DynamoDB's 400 KB items), the
fetch's cursor and progress in one small DynamoDB item per snapshot.

A snapshot is read once per export (its id is the export id, taken when the export starts) or once per
searched period (a preview, reused while fresh). Each ABAX call's answer is one S3 object, written before
the cursor moves past it, so a fetch that dies resumes at the call that failed, not at the start of the month.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from .table import Table, tenant_pk

RUNNING, READY, FAILED = "RUNNING", "READY", "FAILED"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _dynamo(value: Any) -> Any:
    """JSON values as DynamoDB takes them (numbers as Decimal)."""
    return value if isinstance(value, Decimal) else json.loads(json.dumps(value), parse_float=Decimal)


@dataclass(frozen=True)
class PagePart:
    """One trips page of the snapshot and the expense answers fetched for its trips."""

    window: int
    page: int
    trips_key: str
    expense_keys: tuple[str, ...]


class SnapshotStore:
    def __init__(self, table: Table, bucket: str):
        self.table = table
        self.bucket = bucket
        self._per_thread = threading.local()

    @property
    def _table(self) -> Any:
        return self.table.resource

    @property
    def _s3(self) -> Any:
        client = getattr(self._per_thread, "s3", None)
        if client is None:
            if not self.bucket:
                raise RuntimeError("SNAPSHOT_BUCKET is not set: nowhere to keep what ABAX answered")
            client = self._per_thread.s3 = boto3.client("s3")
        return client

    # ---- the snapshot's record (cursor, progress, status) ---------------------------------------------
    def create(self, tenant_id: str, snapshot_id: str, fields: Mapping[str, Any]) -> bool:
        """Start a snapshot; False when it exists already (a retried step, a repeated request)."""
        try:
            self._table.put_item(
                Item={
                    "pk": tenant_pk(tenant_id),
                    "sk": f"SNAPSHOT#{snapshot_id}",
                    "snapshot_id": snapshot_id,
                    **_dynamo(fields),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def put(self, tenant_id: str, snapshot_id: str, fields: Mapping[str, Any]) -> bool:
        """Write the whole snapshot record (an export's fetch writes it first when it has read something);
        False when it exists already (another invocation of the step wrote it first)."""
        return self.create(tenant_id, snapshot_id, {**fields, "updated_at": round(time.time(), 3)})

    def move(self, tenant_id: str, snapshot_id: str, fields: Mapping[str, Any]) -> bool:
        """Move the fetch's cursor; False when the snapshot is READY already (an invocation cut at its
        timeout runs on, as in AWS, and must not take a finished snapshot back)."""
        names, values, sets = {"#status": "status"}, {":ready": READY}, []
        for index, (name, value) in enumerate(
            {**fields, "updated_at": Decimal(str(round(time.time(), 3)))}.items()
        ):
            names[f"#f{index}"] = name
            values[f":v{index}"] = _dynamo(value)
            sets.append(f"#f{index} = :v{index}")
        try:
            self._table.update_item(
                Key={"pk": tenant_pk(tenant_id), "sk": f"SNAPSHOT#{snapshot_id}"},
                UpdateExpression="SET " + ", ".join(sets),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ConditionExpression="attribute_exists(pk) AND #status <> :ready",
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def get(self, tenant_id: str, snapshot_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(
            Key={"pk": tenant_pk(tenant_id), "sk": f"SNAPSHOT#{snapshot_id}"}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return {key: value for key, value in _plain(item).items() if key not in ("pk", "sk")}

    def update(self, tenant_id: str, snapshot_id: str, fields: Mapping[str, Any]) -> None:
        names, values, sets = {}, {}, []
        for index, (name, value) in enumerate(
            {**fields, "updated_at": Decimal(str(round(time.time(), 3)))}.items()
        ):
            names[f"#f{index}"] = name
            values[f":v{index}"] = _dynamo(value)
            sets.append(f"#f{index} = :v{index}")
        self._table.update_item(
            Key={"pk": tenant_pk(tenant_id), "sk": f"SNAPSHOT#{snapshot_id}"},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ConditionExpression="attribute_exists(pk)",
        )

    # ---- the searched period's current snapshot ----------------------------------------------------
    def current_for(self, tenant_id: str, period_key: str) -> str | None:
        item = self._table.get_item(
            Key={"pk": tenant_pk(tenant_id), "sk": f"SEARCH#{period_key}"}, ConsistentRead=True
        ).get("Item")
        return str(item["snapshot_id"]) if item else None

    def set_current(self, tenant_id: str, period_key: str, snapshot_id: str, previous: str | None) -> bool:
        """Point the period at a new snapshot, unless another search moved it first (then False)."""
        try:
            self._table.put_item(
                Item={"pk": tenant_pk(tenant_id), "sk": f"SEARCH#{period_key}", "snapshot_id": snapshot_id},
                ConditionExpression="attribute_not_exists(pk)"
                if previous is None
                else "snapshot_id = :previous",
                **({} if previous is None else {"ExpressionAttributeValues": {":previous": previous}}),
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def snapshots(self, tenant_id: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(tenant_pk(tenant_id)) & Key("sk").begins_with("SNAPSHOT#"),
        }
        while True:
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                yield {key: value for key, value in _plain(item).items() if key not in ("pk", "sk")}
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ---- the answers, one S3 object per ABAX call ---------------------------------------------------
    @staticmethod
    def _prefix(tenant_id: str, snapshot_id: str) -> str:
        return f"snapshots/{tenant_id}/{snapshot_id}/"

    def trips_key(self, tenant_id: str, snapshot_id: str, window: int, page: int) -> str:
        return f"{self._prefix(tenant_id, snapshot_id)}w{window:03d}/p{page:05d}/trips.json.gz"

    def expenses_key(self, tenant_id: str, snapshot_id: str, window: int, page: int, batch: int) -> str:
        return f"{self._prefix(tenant_id, snapshot_id)}w{window:03d}/p{page:05d}/e{batch:04d}.json.gz"

    def put_part(self, key: str, items: list[dict[str, Any]]) -> None:
        body = gzip.compress(json.dumps(items, separators=(",", ":")).encode(), compresslevel=6)
        self._s3.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", ContentEncoding="gzip"
        )

    def get_part(self, key: str) -> list[dict[str, Any]]:
        body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return list(json.loads(gzip.decompress(body)))

    def pages(self, tenant_id: str, snapshot_id: str) -> list[PagePart]:
        """The snapshot's trips pages in the order ABAX gave them, each with its expense answers."""
        keys: list[str] = []
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._prefix(tenant_id, snapshot_id)}
        while True:
            listing = self._s3.list_objects_v2(**kwargs)
            keys += [entry["Key"] for entry in listing.get("Contents", [])]
            if not listing.get("IsTruncated"):
                break
            kwargs["ContinuationToken"] = listing["NextContinuationToken"]
        by_page: dict[tuple[int, int], dict[str, Any]] = {}
        for key in sorted(keys):
            window_part, page_part, name = key.rsplit("/", 3)[-3:]
            place = (int(window_part[1:]), int(page_part[1:]))
            entry = by_page.setdefault(place, {"trips": None, "expenses": []})
            if name == "trips.json.gz":
                entry["trips"] = key
            else:
                entry["expenses"].append(key)
        return [
            PagePart(window, page, entry["trips"], tuple(entry["expenses"]))
            for (window, page), entry in sorted(by_page.items())
            if entry["trips"] is not None
        ]

    def delete(self, tenant_id: str, snapshot_id: str) -> None:
        """Forget a snapshot's answers (trip data is personal data: keep it no longer than needed)."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._prefix(tenant_id, snapshot_id)}
        while True:
            listing = self._s3.list_objects_v2(**kwargs)
            keys = [{"Key": entry["Key"]} for entry in listing.get("Contents", [])]
            if keys:
                self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
            if not listing.get("IsTruncated"):
                break
            kwargs["ContinuationToken"] = listing["NextContinuationToken"]
