"""Validation problems: each names what is wrong and every item it concerns; errors block, warnings inform."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PAY_ITEM_NOT_FOUND = "PAY_ITEM_NOT_FOUND"
EMPLOYEE_NUMBER_MISSING = "EMPLOYEE_NUMBER_MISSING"
EMPLOYEE_NOT_FOUND = "EMPLOYEE_NOT_FOUND"
PAY_CODE_NOT_CONFIGURED = "PAY_CODE_NOT_CONFIGURED"
PAY_ITEM_INCOMPATIBLE = "PAY_ITEM_INCOMPATIBLE"
ALREADY_EXPORTED = "ALREADY_EXPORTED"
INVALID_TRIP_DATA = "INVALID_TRIP_DATA"
NOTHING_TO_EXPORT = "NOTHING_TO_EXPORT"
LOGBOOK_NOT_FOUND = "LOGBOOK_NOT_FOUND"
RATE_MISSING = "RATE_MISSING"
TAXABLE_EXCESS_NOT_HANDLED = "TAXABLE_EXCESS_NOT_HANDLED"
# A pay item's a-melding coding contradicts its category (blocking), or it has no description (a warning).
PAY_ITEM_REPORTING_MISMATCH = "PAY_ITEM_REPORTING_MISMATCH"
# A trip without purpose or start/end place: taxable with a warning, or blocking (company setting).
TRIP_UNDOCUMENTED = "TRIP_UNDOCUMENTED"
# Warnings: shown in the preview and kept with the export, never blocking.
PASSENGER_NAMES_MISSING = "PASSENGER_NAMES_MISSING"
SUPPLEMENT_CAPPED = "SUPPLEMENT_CAPPED"
PAY_ITEM_RATE_OVERRIDDEN = "PAY_ITEM_RATE_OVERRIDDEN"
VEHICLE_CLASS_UNKNOWN = "VEHICLE_CLASS_UNKNOWN"

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    items: list[dict[str, Any]] = field(default_factory=list)
    severity: str = ERROR
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.severity == ERROR

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "items": self.items,
            "params": self.params,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        return cls(
            code=data["code"],
            message=data["message"],
            items=list(data.get("items", [])),
            severity=data.get("severity", ERROR),
            params=dict(data.get("params") or {}),
        )


# The export record is one DynamoDB item (400 KB at most). A problem can name every driver or trip of a company
# of thousands (5,000 drivers without an employee number, a warning on each of 23,000 lines), so the record
# keeps a summary of each problem (its item count, its first items, long lists and texts cut) and the whole
# list is kept beside the documentation report (S3) when anything was cut.
KEPT_ITEMS = 20
KEPT_TEXT = 1000  # characters of any one text (a message naming 5,000 drivers)
KEPT_BYTES = 48 * 1024  # the summary of all problems together, as JSON


def _bounded(value: Any, items: int) -> tuple[Any, bool]:
    """The value with every list cut to its first `items` entries and every text to KEPT_TEXT; whether any was."""
    if isinstance(value, str):
        return (value, False) if len(value) <= KEPT_TEXT else (value[: KEPT_TEXT - 1] + "…", True)
    if isinstance(value, list):
        kept = [_bounded(entry, items) for entry in value[:items]]
        return [entry for entry, _ in kept], len(value) > items or any(cut for _, cut in kept)
    if isinstance(value, dict):
        kept_fields = {name: _bounded(entry, items) for name, entry in value.items()}
        return {name: entry for name, (entry, _) in kept_fields.items()}, any(
            cut for _, cut in kept_fields.values()
        )
    return value, False


def summarized(
    problems: Sequence[Mapping[str, Any]], items: int = KEPT_ITEMS, budget: int = KEPT_BYTES
) -> tuple[list[dict[str, Any]], bool]:
    """The problems as an export record keeps them, and whether any was cut (then keep the whole list too).

    Each problem keeps its code, severity, message and params, `item_count` (how many items it has) and its
    first items; `truncated` says the summary holds only part of it.
    """
    summary: list[dict[str, Any]] = []
    any_cut = False
    for kept_items in (items, 5, 1, 0):
        summary, any_cut = [], False
        for problem in problems:
            listed = list(problem.get("items") or [])
            rest, cut_rest = _bounded(
                {name: v for name, v in problem.items() if name not in ("items", "item_count", "truncated")},
                kept_items,
            )
            kept, cut_items = _bounded(listed, kept_items)
            cut = cut_rest or cut_items
            any_cut = any_cut or cut
            summary.append({**rest, "items": kept, "item_count": len(listed), "truncated": cut})
        if len(json.dumps(summary, default=str, separators=(",", ":"))) <= budget:
            break
    return summary, any_cut
