"""The single DynamoDB table: integration state, codes, rates, schedules, exports, their lines and the trip ledger."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from ..domain.categories import ALL_CATEGORIES, Category
from ..domain.rates import Rate, RateTable
from ..errors import ExportInProgress, InvalidRequest

TERMINAL = frozenset({"COMPLETED", "VALIDATION_FAILED", "ROLLED_BACK", "ROLLBACK_INCOMPLETE", "FAILED"})
# A lock whose export record was never written (the claim died between its two writes) holds this long.
ORPHAN_LOCK_SECONDS = 60
CREATED_IDS = "ids_"  # attribute-name prefix of a chunk's recorded ids
LEDGER_CHUNK_TRIPS = 20_000  # trip ids per ledger item, far below DynamoDB's 400 KB item limit once gzipped


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _tenant(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def _pack(value: Any) -> bytes:
    """Compact storage for bulky lists: write units are charged per KB."""
    return gzip.compress(json.dumps(value, separators=(",", ":")).encode(), compresslevel=6)


def _unpack(blob: Any) -> Any:
    raw = blob.value if hasattr(blob, "value") else blob
    return json.loads(gzip.decompress(bytes(raw)))


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; make records JSON-friendly ints where they are ints."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _plain_floats(value: Any) -> Any:
    """DynamoDB numbers as floats (for measurements such as times, not money)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _plain_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_floats(item) for item in value]
    return value


class PayrollStore:
    def __init__(self, table_name: str):
        self.table_name = table_name
        self._per_thread = threading.local()

    @property
    def table(self) -> Any:
        """One boto3 resource per thread: resources are not thread-safe (their condition-expression builder
        shares placeholder counters), and the local stack runs many invocations on threads at once."""
        table = getattr(self._per_thread, "table", None)
        if table is None:
            table = self._per_thread.table = boto3.resource("dynamodb").Table(self.table_name)
        return table

    # ---- integration -------------------------------------------------------------------------
    def get_integration(self, tenant_id: str) -> dict[str, Any] | None:
        item = self.table.get_item(Key={"pk": _tenant(tenant_id), "sk": "INTEGRATION"}).get("Item")
        return _plain(item) if item else None

    def put_integration(self, tenant_id: str, fields: Mapping[str, Any]) -> None:
        self.table.put_item(Item={"pk": _tenant(tenant_id), "sk": "INTEGRATION", **fields})

    # ---- payroll codes and rates -------------------------------------------------------------
    def get_codes(self, tenant_id: str) -> dict[Category, str | None]:
        item = self.table.get_item(Key={"pk": _tenant(tenant_id), "sk": "CODES"}).get("Item") or {}
        stored = item.get("codes", {})
        return {category: stored.get(category.value) for category in ALL_CATEGORIES}

    def put_codes(self, tenant_id: str, codes: Mapping[Category, str | None], updated_by: str) -> None:
        self.table.put_item(
            Item={
                "pk": _tenant(tenant_id),
                "sk": "CODES",
                "codes": {category.value: codes.get(category) for category in ALL_CATEGORIES},
                "updated_at": now_iso(),
                "updated_by": updated_by,
            }
        )

    def get_rates(self, tenant_id: str) -> RateTable:
        item = self.table.get_item(Key={"pk": _tenant(tenant_id), "sk": "RATES"}).get("Item")
        if not item:
            return RateTable.default()
        return RateTable(
            Rate(Category(entry["category"]), datetime.fromisoformat(entry["valid_from"]).date(), Decimal(entry["rate"]))
            for entry in item["rates"]
        )

    def put_rates(self, tenant_id: str, rates: RateTable, updated_by: str) -> None:
        entries = [
            {"category": rate.category.value, "valid_from": rate.valid_from.isoformat(), "rate": str(rate.rate)}
            for rate in rates.entries()
        ]
        self.table.put_item(
            Item={"pk": _tenant(tenant_id), "sk": "RATES", "rates": entries, "updated_at": now_iso(), "updated_by": updated_by}
        )

    # ---- schedule -----------------------------------------------------------------------------
    def get_schedule(self, tenant_id: str) -> dict[str, Any]:
        item = self.table.get_item(Key={"pk": _tenant(tenant_id), "sk": "SCHEDULE"}).get("Item")
        if not item:
            return {"enabled": False, "day_of_month": 1}
        return {"enabled": bool(item["enabled"]), "day_of_month": int(item["day_of_month"])}

    def put_schedule(self, tenant_id: str, enabled: bool, day_of_month: int, updated_by: str) -> None:
        item: dict[str, Any] = {
            "pk": _tenant(tenant_id),
            "sk": "SCHEDULE",
            "tenant_id": tenant_id,
            "enabled": enabled,
            "day_of_month": day_of_month,
            "updated_at": now_iso(),
            "updated_by": updated_by,
        }
        if enabled:  # sparse index: only enabled schedules are found by day
            item["gsi1pk"] = f"SCHEDULE#DAY#{day_of_month:02d}"
            item["gsi1sk"] = tenant_id
        self.table.put_item(Item=item)

    def tenants_scheduled_on(self, day_of_month: int) -> list[str]:
        tenants: list[str] = []
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(f"SCHEDULE#DAY#{day_of_month:02d}"),
        }
        while True:
            page = self.table.query(**kwargs)
            tenants += [item["gsi1sk"] for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return tenants
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_scheduled_month(self, tenant_id: str, month: str, export_id: str) -> bool:
        """At most one scheduled export per tenant and month, even if the event comes twice."""
        try:
            self.table.put_item(
                Item={"pk": _tenant(tenant_id), "sk": f"SCHEDULED#{month}", "export_id": export_id, "created_at": now_iso()},
                ConditionExpression="attribute_not_exists(pk)",
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def release_scheduled_month(self, tenant_id: str, month: str) -> None:
        self.table.delete_item(Key={"pk": _tenant(tenant_id), "sk": f"SCHEDULED#{month}"})

    # ---- exports ------------------------------------------------------------------------------
    # One running export per tenant: the tenant's lock item names the export that holds it, and it holds it
    # while that export's record says RUNNING. Finishing an export is then one write (its record), and the
    # next claim takes the stale lock over with a write conditioned on the old holder: two claims can never
    # both win. Before, a transaction over lock and record cost twice the units, at start and at finish.
    def claim_export(self, tenant_id: str, record: Mapping[str, Any]) -> None:
        """Take the tenant's lock for this export, then write its record."""
        export_id = record["export_id"]
        lock = {"pk": _tenant(tenant_id), "sk": "LOCK#EXPORT"}
        for _ in range(5):
            held = self.table.get_item(Key=lock, ConsistentRead=True).get("Item")
            if held is not None and self._lock_live(tenant_id, held):
                raise ExportInProgress(f"export {held['export_id']} is still running for this company; wait until it ends")
            try:
                self.table.put_item(
                    Item={**lock, "export_id": export_id, "created_at": now_iso(), "claimed_at": Decimal(str(round(time.time(), 3)))},
                    ConditionExpression="attribute_not_exists(pk)" if held is None else "export_id = :stale",
                    **({} if held is None else {"ExpressionAttributeValues": {":stale": held["export_id"]}}),
                )
                break
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                # Another claim moved first: look at the lock again.
        else:
            raise ExportInProgress("another export is starting for this company; wait until it ends")
        try:
            self.table.put_item(
                Item={"pk": _tenant(tenant_id), "sk": f"EXPORT#{export_id}", **record},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except Exception:
            self.table.delete_item(
                Key=lock, ConditionExpression="export_id = :me", ExpressionAttributeValues={":me": export_id}
            )
            raise
        held = self.table.get_item(Key=lock, ConsistentRead=True).get("Item")
        if held is None or held["export_id"] != export_id:
            # Only if this claim stalled longer than ORPHAN_LOCK_SECONDS between its two writes.
            self.finish_export(tenant_id, export_id, "FAILED", {"error": {"code": "EXPORT_IN_PROGRESS", "message": "another export took over"}})
            raise ExportInProgress("another export started for this company meanwhile; wait until it ends")

    def _lock_live(self, tenant_id: str, held: Mapping[str, Any]) -> bool:
        """A lock holds while its export runs; one whose record was never written holds for a while only."""
        record = self.table.get_item(
            Key={"pk": _tenant(tenant_id), "sk": f"EXPORT#{held['export_id']}"},
            ConsistentRead=True,
            ProjectionExpression="#s",
            ExpressionAttributeNames={"#s": "status"},
        ).get("Item")
        if record is not None:
            return record["status"] not in TERMINAL
        return time.time() - float(held.get("claimed_at", 0)) < ORPHAN_LOCK_SECONDS

    def running_export(self, tenant_id: str) -> str | None:
        item = self.table.get_item(Key={"pk": _tenant(tenant_id), "sk": "LOCK#EXPORT"}, ConsistentRead=True).get("Item")
        return item["export_id"] if item and self._lock_live(tenant_id, item) else None

    def get_export(self, tenant_id: str, export_id: str) -> dict[str, Any] | None:
        item = self.table.get_item(Key={"pk": _tenant(tenant_id), "sk": f"EXPORT#{export_id}"}).get("Item")
        return _strip_keys(_plain(item)) if item else None

    def list_exports(self, tenant_id: str, limit: int, next_token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_tenant(tenant_id)) & Key("sk").begins_with("EXPORT#"),
            "ScanIndexForward": False,  # export ids sort by creation time: newest first
            "Limit": limit,
        }
        if next_token:
            kwargs["ExclusiveStartKey"] = _decode_token(next_token, tenant_id)
        page = self.table.query(**kwargs)
        token = _encode_token(page["LastEvaluatedKey"]) if "LastEvaluatedKey" in page else None
        return [_strip_keys(_plain(item)) for item in page.get("Items", [])], token

    def update_export(self, tenant_id: str, export_id: str, fields: Mapping[str, Any]) -> None:
        names, values, sets = {}, {}, []
        for index, (name, value) in enumerate({**fields, "updated_at": now_iso()}.items()):
            names[f"#f{index}"] = name
            values[f":v{index}"] = value
            sets.append(f"#f{index} = :v{index}")
        self.table.update_item(
            Key={"pk": _tenant(tenant_id), "sk": f"EXPORT#{export_id}"},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ConditionExpression="attribute_exists(pk)",
        )

    def finish_export(self, tenant_id: str, export_id: str, status: str, fields: Mapping[str, Any]) -> None:
        """Set a terminal status: one write, which also frees the tenant's lock (see claim_export)."""
        assert status in TERMINAL
        self.update_export(tenant_id, export_id, {**fields, "status": status, "finished_at": now_iso()})

    # ---- salary lines of an export ------------------------------------------------------------
    def put_line_chunks(self, tenant_id: str, export_id: str, chunks: list[list[dict[str, Any]]]) -> None:
        with self.table.batch_writer() as batch:
            for index, chunk in enumerate(chunks):
                batch.put_item(
                    Item={"pk": _tenant(tenant_id), "sk": f"LINES#{export_id}#{index:05d}", "data": _pack(chunk)}
                )

    def get_line_chunk(self, tenant_id: str, export_id: str, index: int) -> list[dict[str, Any]]:
        item = self.table.get_item(
            Key={"pk": _tenant(tenant_id), "sk": f"LINES#{export_id}#{index:05d}"}, ConsistentRead=True
        ).get("Item")
        if item is None:
            raise LookupError(f"chunk {index} of export {export_id} is missing")
        return list(_unpack(item["data"]))

    def get_lines(self, tenant_id: str, export_id: str) -> list[dict[str, Any]]:
        """Every planned line of an export, with the PowerOffice id of those created."""
        lines: list[dict[str, Any]] = []
        for item in self._query_prefix(tenant_id, f"LINES#{export_id}#"):
            lines += _unpack(item["data"])
        created = self.get_created(tenant_id, export_id)
        for line in lines:
            line["salary_line_id"] = created.get(line["index"])
        return lines

    # A chunk's created ids are one map attribute per write ("ids_<time>": {line index: salary-line id}), so
    # a retried chunk adds its own map beside the first attempt's instead of overwriting it, and each write is
    # a single SET clause (100 clauses made moto's expression validator, quadratic, the local push's bottleneck).
    def record_created(self, tenant_id: str, export_id: str, chunk: int, created: Mapping[int, int]) -> None:
        """Record created salary-line ids (a batch of them, one small write) as they are created."""
        if not created:
            return
        self.table.update_item(
            Key={"pk": _tenant(tenant_id), "sk": f"PUSHED#{export_id}#{chunk:05d}"},
            UpdateExpression="SET #ids = :ids",
            ExpressionAttributeNames={"#ids": f"{CREATED_IDS}{time.time_ns()}"},
            ExpressionAttributeValues={":ids": {str(index): int(salary_line_id) for index, salary_line_id in created.items()}},
        )

    def forget_created(self, tenant_id: str, export_id: str, deleted: Iterable[int]) -> None:
        """After a rollback: drop the deleted ids so the record never claims a line Go no longer has."""
        gone = set(deleted)
        for item in self._query_prefix(tenant_id, f"PUSHED#{export_id}#"):
            sets: list[str] = []
            removes: list[str] = []
            names: dict[str, str] = {}
            values: dict[str, Any] = {}
            for name, ids in item.items():
                if not name.startswith(CREATED_IDS):
                    continue
                kept = {index: value for index, value in ids.items() if int(value) not in gone}
                if len(kept) == len(ids):
                    continue
                placeholder = f"#a{len(names)}"
                names[placeholder] = name
                if kept:
                    values[f":v{len(values)}"] = kept
                    sets.append(f"{placeholder} = :v{len(values) - 1}")
                else:
                    removes.append(placeholder)
            if not names:
                continue
            expression = " ".join(
                part for part in ("SET " + ", ".join(sets) if sets else "", "REMOVE " + ", ".join(removes) if removes else "") if part
            )
            self.table.update_item(
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                **({"ExpressionAttributeValues": values} if values else {}),
            )

    def get_created(self, tenant_id: str, export_id: str) -> dict[int, int]:
        """Line index -> PowerOffice salary-line id."""
        created: dict[int, int] = {}
        for item in self._query_prefix(tenant_id, f"PUSHED#{export_id}#"):
            for name in sorted(item):  # oldest write first
                if name.startswith(CREATED_IDS):
                    created.update({int(index): int(value) for index, value in item[name].items()})
        return created

    # ---- ledger of exported trips ---------------------------------------------------------------
    def put_ledger(self, tenant_id: str, export_id: str, trips_by_month: Mapping[str, list[str]]) -> None:
        with self.table.batch_writer() as batch:
            for month, trip_ids in trips_by_month.items():
                for part, start in enumerate(range(0, len(trip_ids), LEDGER_CHUNK_TRIPS)):
                    batch.put_item(
                        Item={
                            "pk": _tenant(tenant_id),
                            "sk": f"LEDGER#{month}#{export_id}#{part:03d}",
                            "export_id": export_id,
                            "trips": _pack(trip_ids[start : start + LEDGER_CHUNK_TRIPS]),
                        }
                    )

    def exported_trips(self, tenant_id: str, months: Iterable[str]) -> dict[str, str]:
        """Trip id -> the export that holds it, for trips in the given months."""
        holders: dict[str, str] = {}
        for month in sorted(set(months)):
            for item in self._query_prefix(tenant_id, f"LEDGER#{month}#"):
                for trip_id in _unpack(item["trips"]):
                    holders[trip_id] = item["export_id"]
        return holders

    def delete_ledger(self, tenant_id: str, export_id: str, months: Iterable[str]) -> None:
        """A rolled-back export frees its trips."""
        with self.table.batch_writer() as batch:
            for month in set(months):
                for item in self._query_prefix(tenant_id, f"LEDGER#{month}#{export_id}#", keys_only=True):
                    batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    # ---- small working data of an export -------------------------------------------------------
    def put_blob(self, tenant_id: str, name: str, value: Any) -> None:
        self.table.put_item(Item={"pk": _tenant(tenant_id), "sk": name, "data": _pack(value)})

    def get_blob(self, tenant_id: str, name: str) -> Any | None:
        item = self.table.get_item(Key={"pk": _tenant(tenant_id), "sk": name}, ConsistentRead=True).get("Item")
        return _unpack(item["data"]) if item else None

    # ---- platform-wide leases ----------------------------------------------------------------
    def acquire_lease(self, name: str, holder: str, seconds: int) -> dict[str, Any] | None:
        """Hold a platform-wide lease (e.g. pushing to PowerOffice) until released or expired.

        None while another holds it; else what the previous holder left at release (its handover).
        """
        now = time.time()
        try:
            previous = self.table.update_item(
                Key={"pk": "PLATFORM", "sk": f"LEASE#{name}"},
                UpdateExpression="SET holder = :me, expires_at = :until",
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now OR holder = :me",
                ExpressionAttributeValues={
                    ":me": holder,
                    ":until": Decimal(str(round(now + seconds, 3))),
                    ":now": Decimal(str(round(now, 3))),
                },
                ReturnValues="ALL_OLD",
            ).get("Attributes", {})
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return dict(_plain_floats(previous.get("handover") or {}))

    def lease_looks_free(self, name: str, holder: str) -> bool:
        """A read before the conditional write: a refused conditional write still costs a write unit, and
        every export waiting for the push lease asks about 20 times a second."""
        item = self.table.get_item(Key={"pk": "PLATFORM", "sk": f"LEASE#{name}"}, ConsistentRead=True).get("Item")
        return item is None or float(item.get("expires_at", 0)) < time.time() or item.get("holder") == holder

    def release_lease(self, name: str, holder: str, handover: Mapping[str, Any] | None = None) -> None:
        """Free the lease now, leaving `handover` (e.g. the last second's sends) for the next holder."""
        try:
            self.table.update_item(
                Key={"pk": "PLATFORM", "sk": f"LEASE#{name}"},
                UpdateExpression="SET expires_at = :free, handover = :handover REMOVE holder",
                ConditionExpression="holder = :me",
                ExpressionAttributeValues={
                    ":me": holder,
                    ":free": Decimal(0),
                    ":handover": json.loads(json.dumps(handover or {}), parse_float=Decimal),
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # ---- helpers ------------------------------------------------------------------------------
    def _query_prefix(self, tenant_id: str, prefix: str, keys_only: bool = False) -> Iterable[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_tenant(tenant_id)) & Key("sk").begins_with(prefix),
            "ConsistentRead": True,
        }
        if keys_only:
            kwargs["ProjectionExpression"] = "pk, sk"
        while True:
            page = self.table.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in ("pk", "sk", "gsi1pk", "gsi1sk")}


def _encode_token(key: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"sk": key["sk"]}).encode()).decode().rstrip("=")


def _decode_token(token: str, tenant_id: str) -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        sort_key = json.loads(base64.urlsafe_b64decode(padded))["sk"]
        if not isinstance(sort_key, str) or not sort_key.startswith("EXPORT#"):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise InvalidRequest("next_token is not a token this API gave out") from None
    # The tenant comes from the caller's token, never from next_token: no way to page into another tenant.
    return {"pk": _tenant(tenant_id), "sk": sort_key}
