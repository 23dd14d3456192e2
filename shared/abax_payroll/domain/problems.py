"""Validation problems: each names what is wrong and every item it concerns."""

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


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "items": self.items}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        return cls(code=data["code"], message=data["message"], items=list(data.get("items", [])))
LOGBOOK_NOT_FOUND = "LOGBOOK_NOT_FOUND"
RATE_MISSING = "RATE_MISSING"
