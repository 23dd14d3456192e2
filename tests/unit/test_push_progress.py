"""The progress counter of a chunk being pushed: it moves through the chunk, within the write budget."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest

from abax_payroll.records import PlannedLine
from abax_payroll.workflow.push import PROGRESS_WRITES_PER_LINE, _ChunkPush, progress_marks


class _Created:
    def __init__(self, salary_line_id: int) -> None:
        self.id = salary_line_id


class _PowerOffice:
    """Creates every line it is sent (as PowerOffice Go would), numbering them."""

    def __init__(self) -> None:
        self._ids = itertools.count(7_100_000_001)
        self._lock = threading.Lock()

    def create_salary_line(self, post: Any) -> _Created:
        with self._lock:
            return _Created(next(self._ids))


def _lines(count: int) -> list[PlannedLine]:
    return [
        PlannedLine(
            index=index,
            employee_number=str(1000 + index),
            employee_name=f"Ansatt {index}",
            categories=["toll"],
            pay_item_code="720",
            amount="37.50",
            trip_count=1,
            employee_id=900_000 + index,
            pay_item_id="8438e221-cdcc-546a-b7fb-afe883e08f34",
            ref=f"ABAX-x-{index:012d}",
            comment="ABAX Bompenger",
            fields={"Amount": "37.50"},
        )
        for index in range(count)
    ]


def _reported(count: int, concurrency: int) -> list[int]:
    seen: list[int] = []
    push = _ChunkPush(_lines(count), seen.append)
    push.run(_PowerOffice(), concurrency)
    assert len(push.created) == count and push.failure is None
    return seen


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_chunk_of_100_lines_reports_its_count_three_times_on_the_way(concurrency: int) -> None:
    seen = _reported(100, concurrency)
    assert seen == sorted(seen)
    assert len(seen) == 3  # 0.03 write units per line: the budget's share of progress
    assert all(0 < sent < 100 for sent in seen)
    # Evenly through the chunk (with 4 workers a mark can be written a line or two late, never early).
    for mark, sent in zip([25, 50, 75], seen, strict=True):
        assert mark <= sent <= mark + concurrency


def test_a_small_export_still_moves_and_a_one_line_chunk_writes_nothing() -> None:
    assert _reported(16, 1) == [6, 11]
    assert _reported(2, 1) == [1]
    assert _reported(1, 1) == []


@pytest.mark.parametrize("lines", [1, 2, 3, 10, 16, 49, 50, 99, 100, 250, 1000])
def test_progress_writes_stay_within_their_share_of_the_budget(lines: int) -> None:
    marks = progress_marks(lines)
    assert marks == sorted(set(marks)) and all(0 < mark < lines for mark in marks)
    assert len(marks) <= max(2, lines * PROGRESS_WRITES_PER_LINE)
