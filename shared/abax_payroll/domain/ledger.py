"""The ledger rule: an export holds a trip exactly while one of the salary lines that pay it exists in Go."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

TripRef = TypeVar("TripRef", str, int)  # a trip id, or its position in the export's claimed list


def held_trips(lines_in_go: Iterable[Mapping[str, Iterable[TripRef]]]) -> dict[str, list[TripRef]]:
    """Month -> trips held, from the trips (by month) of each line that exists in PowerOffice Go.

    A trip paid by two lines (its km and its toll) stays held while either exists: freeing it would let a
    new export pay the remaining line's part a second time. A trip no existing line pays (its line was
    never created, or was deleted) is free again.
    """
    held: dict[str, set[TripRef]] = {}
    for trips_by_month in lines_in_go:
        for month, trip_ids in trips_by_month.items():
            held.setdefault(month, set()).update(trip_ids)
    return {month: sorted(trip_ids) for month, trip_ids in sorted(held.items()) if trip_ids}
