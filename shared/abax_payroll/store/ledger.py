"""The ledger of exported trips: which export holds each trip, so no trip is paid twice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .table import Table, pack, tenant_pk, unpack

LEDGER_CHUNK_TRIPS = 20_000  # trip ids per ledger item, far below DynamoDB's 400 KB item limit once gzipped


def _month(month: str) -> str:
    return f"LEDGER#{month}#"


def _export_month(month: str, export_id: str) -> str:
    return f"LEDGER#{month}#{export_id}#"


class LedgerStore:
    def __init__(self, table: Table):
        self.table = table

    def put_ledger(self, tenant_id: str, export_id: str, trips_by_month: Mapping[str, list[str]]) -> None:
        with self.table.resource.batch_writer() as batch:
            for month, trip_ids in trips_by_month.items():
                for part, start in enumerate(range(0, len(trip_ids), LEDGER_CHUNK_TRIPS)):
                    batch.put_item(
                        Item={
                            "pk": tenant_pk(tenant_id),
                            "sk": f"{_export_month(month, export_id)}{part:03d}",
                            "export_id": export_id,
                            "trips": pack(trip_ids[start : start + LEDGER_CHUNK_TRIPS]),
                        }
                    )

    def exported_trips(self, tenant_id: str, months: Iterable[str]) -> dict[str, str]:
        """Trip id -> the export that holds it, for trips in the given months."""
        holders: dict[str, str] = {}
        for month in sorted(set(months)):
            for item in self.table.query_prefix(tenant_pk(tenant_id), _month(month)):
                for trip_id in unpack(item["trips"]):
                    holders[trip_id] = item["export_id"]
        return holders

    def delete_ledger(self, tenant_id: str, export_id: str, months: Iterable[str]) -> None:
        """A rolled-back export frees its trips."""
        with self.table.resource.batch_writer() as batch:
            for month in set(months):
                for item in self.table.query_prefix(tenant_pk(tenant_id), _export_month(month, export_id), keys_only=True):
                    batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    def replace_ledger(
        self, tenant_id: str, export_id: str, trips_by_month: Mapping[str, list[str]], months: Iterable[str]
    ) -> None:
        """The export holds exactly these trips now (those of its lines that exist in PowerOffice Go)."""
        keep = {
            f"{_export_month(month, export_id)}{part:03d}"
            for month, trip_ids in trips_by_month.items()
            for part in range(len(range(0, len(trip_ids), LEDGER_CHUNK_TRIPS)))
        }
        with self.table.resource.batch_writer() as batch:
            for month in set(months) | set(trips_by_month):
                for item in self.table.query_prefix(tenant_pk(tenant_id), _export_month(month, export_id), keys_only=True):
                    if item["sk"] not in keep:
                        batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        self.put_ledger(tenant_id, export_id, {month: trips for month, trips in trips_by_month.items() if trips})
