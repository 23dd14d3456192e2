"""One page of a list an answer cannot carry whole (Lambda's 6 MB): its items, the count, where the next begins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def page(items: Sequence[Any], offset: int, limit: int, name: str, count_name: str) -> dict[str, Any]:
    """{count_name: all, "offset", name: items[offset:offset + limit], "next_offset": None on the last page}."""
    part = list(items[offset : offset + limit])
    end = offset + len(part)
    return {
        count_name: len(items),
        "offset": offset,
        name: part,
        "next_offset": end if end < len(items) else None,
    }
