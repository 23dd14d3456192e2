"""The ledger of exported trips: which export holds each trip, so no trip is paid twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from boto3.dynamodb.conditions import Key

from .table import Table, pack, tenant_pk, unpack

LEDGER_CHUNK_TRIPS = (
    20_000  # trip ids per ledger item at most (and in every part of items written before `first`)
)
# A part's packed trips at most: 20,000 UUIDs are 320 KB, but 20,000 other ids of 36 random characters gzip to
# about 420 KB, past DynamoDB's 400 KB item, and Group's write would fail. Such a part is split until it fits,
# with room left for `held`; each item says where its part starts (`first`) and how many it holds (`count`).
LEDGER_ITEM_BYTES = 320_000


def _month(month: str) -> str:
    return f"LEDGER#{month}#"


def _export_month(month: str, export_id: str) -> str:
    return f"LEDGER#{month}#{export_id}#"


def _packed_trips(trip_ids: list[str]) -> dict[str, Any]:
    """A ledger item's trips: 16 bytes each when every id is a UUID in its canonical form (ABAX's trip ids are),
    else their JSON gzipped (a UUID's 36 characters gzip to about 22 bytes: a third more write units)."""
    try:
        parsed = [uuid.UUID(trip_id) for trip_id in trip_ids]
    except ValueError:
        parsed = []
    if parsed and all(str(value) == trip_id for value, trip_id in zip(parsed, trip_ids, strict=True)):
        return {"trip_uuids": b"".join(value.bytes for value in parsed)}
    return {"trips": pack(trip_ids)}


def _trip_ids(item: Mapping[str, Any]) -> list[str]:
    if "trip_uuids" in item:
        raw = item["trip_uuids"]
        raw = bytes(raw.value if hasattr(raw, "value") else raw)
        return [str(uuid.UUID(bytes=raw[at : at + 16])) for at in range(0, len(raw), 16)]
    return list(unpack(item["trips"]))


def _parts(trip_ids: list[str]) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(first position, count, packed trips) of each ledger item of one month's claimed trips."""
    start = 0
    while start < len(trip_ids):
        size = LEDGER_CHUNK_TRIPS
        while True:
            packed = _packed_trips(trip_ids[start : start + size])
            raw = next(iter(packed.values()))
            if len(raw) <= LEDGER_ITEM_BYTES or size == 1:
                break
            size //= 2
        count = min(size, len(trip_ids) - start)
        yield start, count, packed
        start += count


class LedgerStore:
    def __init__(self, table: Table):
        self.table = table

    def put_ledger(
        self,
        tenant_id: str,
        export_id: str,
        trips_by_month: Mapping[str, list[str]],
        fence: dict[str, Any] | None = None,
    ) -> None:
        """Claim the trips; with `fence` (ExportStore.fence) only while the writing run is the export's current
        one (RunSuperseded else): a claim landing after a stopped run's end was recorded would hold the trips
        of a FAILED export for ever."""
        items = [
            {
                "pk": tenant_pk(tenant_id),
                "sk": f"{_export_month(month, export_id)}{part:03d}",
                "export_id": export_id,
                "first": start,
                "count": count,
                **packed,
            }
            for month, trip_ids in trips_by_month.items()
            for part, (start, count, packed) in enumerate(_parts(trip_ids))
        ]
        if fence is not None:
            self.table.write_fenced(
                fence,
                (
                    {"Put": {"TableName": self.table.name, "Item": self.table.low_level(item)}}
                    for item in items
                ),
            )
            return
        with self.table.resource.batch_writer() as batch:
            for item in items:
                batch.put_item(Item=item)

    def exported_trips(self, tenant_id: str, months: Iterable[str]) -> dict[str, str]:
        """Trip id -> the export that holds it, for trips in the given months."""
        holders: dict[str, str] = {}
        for month in sorted(set(months)):
            for item in self.table.query_prefix(tenant_pk(tenant_id), _month(month)):
                trips = _trip_ids(item)
                if "held" in item:  # the export ended short of COMPLETED: only these are still paid
                    trips = [trips[position] for position in unpack(item["held"]) if position < len(trips)]
                for trip_id in trips:
                    holders[trip_id] = item["export_id"]
        return holders

    def delete_ledger(
        self, tenant_id: str, export_id: str, months: Iterable[str], fence: dict[str, Any] | None = None
    ) -> None:
        """A rolled-back export frees its trips (with `fence`: only on behalf of its current run)."""
        if fence is not None:
            self.table.write_fenced(fence, self.deletes(tenant_id, export_id, months))
            return
        with self.table.resource.batch_writer() as batch:
            for key in self._keys(tenant_id, export_id, months):
                batch.delete_item(Key=key)

    def deletes(self, tenant_id: str, export_id: str, months: Iterable[str]) -> list[dict[str, Any]]:
        """The export's ledger items as TransactWriteItems deletes (to free its trips in the write that ends it)."""
        return [
            {"Delete": {"TableName": self.table.name, "Key": self.table.low_level(key)}}
            for key in self._keys(tenant_id, export_id, months)
        ]

    def _keys(self, tenant_id: str, export_id: str, months: Iterable[str]) -> list[dict[str, Any]]:
        return [
            {"pk": item["pk"], "sk": item["sk"]}
            for month in set(months)
            for item in self.table.query_prefix(
                tenant_pk(tenant_id), _export_month(month, export_id), keys_only=True
            )
        ]

    # After an export ends short of COMPLETED it holds only the trips of its lines left in PowerOffice Go. The
    # items written at Group keep every trip the export claimed (a resume claims them all again); a `held`
    # attribute lists the positions still held. Lines name their trips by these positions (small numbers,
    # a fraction of the write units trip ids would cost in every line chunk).
    def export_trips(self, tenant_id: str, export_id: str, months: Iterable[str]) -> dict[str, list[str]]:
        """Every trip the export claimed at Group, by month, held or not; positions index these lists."""
        claimed: dict[str, list[str]] = {}
        for month in sorted(set(months)):
            trips: list[str] = []
            for item in self.table.query_prefix(
                tenant_pk(tenant_id), _export_month(month, export_id)
            ):  # parts in order
                trips += _trip_ids(item)
            if trips:
                claimed[month] = trips
        return claimed

    def hold_only(
        self,
        tenant_id: str,
        export_id: str,
        positions: Mapping[str, Iterable[int]] | None,
        months: Iterable[str],
        fence: dict[str, Any] | None = None,
    ) -> None:
        """The export holds only the trips at these positions of its claimed lists; None: all of them again.
        With `fence`, only on behalf of the export's current run (RunSuperseded else)."""
        updates: list[dict[str, Any]] = []
        for month in sorted(set(months)):
            wanted = None if positions is None else set(positions.get(month, ()))
            for item in self.table.query(
                KeyConditionExpression=Key("pk").eq(tenant_pk(tenant_id))
                & Key("sk").begins_with(_export_month(month, export_id)),
                ConsistentRead=True,
                ProjectionExpression="pk, sk, #first, #count",
                ExpressionAttributeNames={"#first": "first", "#count": "count"},
            ):
                key = {"pk": item["pk"], "sk": item["sk"]}
                if wanted is None:
                    updates.append({"Key": key, "UpdateExpression": "REMOVE held"})
                    continue
                # Items from before `first`: every part held LEDGER_CHUNK_TRIPS.
                first = int(item.get("first", int(item["sk"].rsplit("#", 1)[1]) * LEDGER_CHUNK_TRIPS))
                count = int(item.get("count", LEDGER_CHUNK_TRIPS))
                here = sorted(position - first for position in wanted if first <= position < first + count)
                updates.append(
                    {
                        "Key": key,
                        "UpdateExpression": "SET held = :held",
                        "ExpressionAttributeValues": {":held": pack(here)},
                    }
                )
        self.table.update_items(updates, fence)
