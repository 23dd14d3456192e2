"""Validation problems: each names what is wrong and every item it concerns; errors block, warnings inform."""

from __future__ import annotations

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
# Warnings: shown in the preview and kept with the export, never blocking.
PASSENGER_NAMES_MISSING = "PASSENGER_NAMES_MISSING"
SUPPLEMENT_CAPPED = "SUPPLEMENT_CAPPED"
PAY_ITEM_RATE_OVERRIDDEN = "PAY_ITEM_RATE_OVERRIDDEN"

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
