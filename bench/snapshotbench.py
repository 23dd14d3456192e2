"""A month of ABAX answers as the Fetch step keeps them (one gzipped object per call), read back the way
Validate and Group read it: the peak memory of that invocation, against Lambda's 1 GB."""

from __future__ import annotations

import gc
import gzip
import json
import time
import tracemalloc
from datetime import date
from typing import Any

from abax_payroll.abax.adapter import reimbursable_trip_ids
from abax_payroll.abax.client import EXPENSE_BATCH, PAGE_SIZE
from abax_payroll.domain.period import Period
from abax_payroll.store.snapshots import PagePart
from abax_payroll.workflow import fetching

from . import cpu

OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


class _Snapshot:
    """The S3 objects of one snapshot, in memory (what SnapshotStore.pages and get_part answer)."""

    def __init__(self, parts: dict[str, bytes], pages: list[PagePart]):
        self._parts, self._pages = parts, pages

    def pages(self, tenant_id: str, snapshot_id: str) -> list[PagePart]:
        return self._pages

    def get_part(self, key: str) -> list[dict[str, Any]]:
        return list(json.loads(gzip.decompress(self._parts[key])))


def measure(drivers: int, trips_per_driver: int = 60) -> dict[str, Any]:
    data = json.loads(cpu.abax_json(drivers, trips_per_driver))
    trips = sorted(
        data["trips"], key=lambda trip: trip["start"]["location"]["timestamp"]
    )  # ABAX's date order
    expenses = {record["trip_id"]: record for record in data["expenses"]}
    parts: dict[str, bytes] = {}
    pages: list[PagePart] = []
    for number, start in enumerate(range(0, len(trips), PAGE_SIZE)):
        page = trips[start : start + PAGE_SIZE]
        key = f"w000/p{number:05d}/trips.json.gz"
        parts[key] = gzip.compress(json.dumps(page).encode())
        ids = reimbursable_trip_ids(page, OCTOBER)
        expense_keys = []
        for batch, first in enumerate(range(0, len(ids), EXPENSE_BATCH)):
            expense_key = f"w000/p{number:05d}/e{batch:04d}.json.gz"
            answer = [
                expenses[trip_id] for trip_id in ids[first : first + EXPENSE_BATCH] if trip_id in expenses
            ]
            parts[expense_key] = gzip.compress(json.dumps(answer).encode())
            expense_keys.append(expense_key)
        pages.append(PagePart(0, number, key, tuple(expense_keys)))
    count = len(trips)
    del data, trips, expenses
    gc.collect()
    snapshot = _Snapshot(parts, pages)
    tracemalloc.start()
    began = time.perf_counter()
    batch = fetching.read_trips(snapshot, "bench", "bench", OCTOBER)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "trips": count,
        "domain_trips": len(batch.trips),
        "calls": len(pages) + sum(len(page.expense_keys) for page in pages),
        "stored_bytes": sum(len(blob) for blob in parts.values()),
        "largest_object_bytes": max(len(blob) for blob in parts.values()),
        "read_s": elapsed,
        "peak_bytes": peak,
    }
