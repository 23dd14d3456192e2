"""PowerOffice Go v2 payloads as typed models, and their mapping to the payroll domain."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_pascal

from ..domain.payroll import Employee, PayItem

# Privileges a payroll import needs on the client (the token's roles): read employees and pay items,
# create and delete salary lines.
PAYROLL_SUBSCRIPTION = "Payroll"
REQUIRED_PRIVILEGES = ("Employee", "PayItem", "SalaryLine_Full")
_PRIVILEGE_ALTERNATIVES = {"Employee": ("Employee", "Employee_Full"), "PayItem": ("PayItem", "PayItem_Full")}


class _PascalModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True, defer_build=True
    )


class ClientIntegrationInformation(_PascalModel):
    client_name: str | None = None
    client_id: str | None = None
    valid_privileges: list[str] = Field(default_factory=list)
    invalid_privileges: list[str] = Field(default_factory=list)
    active_client_subscriptions: list[str] = Field(default_factory=list)

    @field_validator("valid_privileges", "invalid_privileges", "active_client_subscriptions", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def has_payroll(self) -> bool:
        return any(s.lower() == PAYROLL_SUBSCRIPTION.lower() for s in self.active_client_subscriptions)

    def missing_privileges(self, required: tuple[str, ...] = REQUIRED_PRIVILEGES) -> list[str]:
        """Required privileges that are not valid on this client (a *_Full grant covers the read one)."""
        valid = {p.lower() for p in self.valid_privileges}
        return [
            privilege
            for privilege in required
            if not any(alt.lower() in valid for alt in _PRIVILEGE_ALTERNATIVES.get(privilege, (privilege,)))
        ]


class SalaryLinePost(_PascalModel):
    """What this integration sends for one line; None fields are left out of the request."""

    employee_id: int
    pay_item_id: str
    quantity: Decimal | None = None
    rate: Decimal | None = None
    amount: Decimal | None = None
    comment: str | None = None
    external_import_reference: str = Field(min_length=1, max_length=200)

    def to_json(self) -> bytes:
        return dumps_json(self.model_dump(by_alias=True, exclude_none=True))


class SalaryLine(_PascalModel):
    id: int
    employee_id: int | None = None
    pay_item_id: str | None = None
    quantity: Decimal | None = None
    rate: Decimal | None = None
    amount: Decimal | None = None
    comment: str | None = None
    external_import_reference: str | None = None
    is_locked: bool = False
    is_deleted_by_user: bool = False


def employee_from_dto(dto: dict[str, Any]) -> Employee | None:
    """Domain employee from an EmployeeDto; None when it has no number (it cannot be matched)."""
    number = dto.get("Number")
    if number is None or dto.get("Id") is None:
        return None
    name = " ".join(part for part in (dto.get("FirstName"), dto.get("LastName")) if part) or f"#{number}"
    return Employee(id=int(dto["Id"]), number=str(number), name=name, archived=bool(dto.get("IsArchived")))


def pay_item_from_dto(dto: dict[str, Any]) -> PayItem | None:
    code = dto.get("Code")
    if code is None or dto.get("Id") is None:
        return None
    return PayItem(
        id=str(dto["Id"]),
        code=str(code),
        name=dto.get("Name") or "",
        active=bool(dto.get("IsActive")),
        processing_type=dto.get("ProcessingType") or "",
        rate=_own_rate(dto.get("Rate")),
        benefit_description=_text_or_none(dto.get("BenefitDescription")),
        tax_deduction=_text_or_none(dto.get("TaxDeduction")),
        employer_contribution_basis=_flag(dto.get("EmployerContributionBasis")),
        include_in_income_report=_flag(dto.get("IncludeInIncomeReport")),
    )


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _own_rate(value: Any) -> Decimal | None:
    """The pay item's own Rate (a JSON number; str() keeps 5.3 exact whether it was parsed as float or Decimal)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        rate = Decimal(str(value))
    except ArithmeticError:
        return None
    return rate if rate.is_finite() else None


def dumps_json(value: Any) -> bytes:
    """JSON with Decimals written as exact JSON numbers (the stdlib would refuse them; floats would round)."""
    return _encode(value).encode()


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite decimal cannot be sent as JSON")
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value)


def loads_json(content: bytes) -> Any:
    """Parse a response body keeping numbers exact (Decimal), as money must be."""
    return json.loads(content, parse_float=Decimal)


class Problem(BaseModel):
    """A ProblemDetails body read case-insensitively (the spec says PascalCase, the server sends lowercase)."""

    title: str | None = None
    detail: str | None = None
    status: int | None = None

    @classmethod
    def from_body(cls, content: bytes) -> Problem:
        try:
            body = loads_json(content) if content else None
        except ValueError:
            return cls(detail=content[:500].decode("utf-8", "replace") or None)
        if not isinstance(body, dict):
            return cls()
        lowered = {str(k).lower(): v for k, v in body.items()}
        status = lowered.get("status", lowered.get("statuscode"))
        try:
            status_int = int(status) if status is not None else None
        except (TypeError, ValueError):
            status_int = None
        return cls(
            title=_str_or_none(lowered.get("title", lowered.get("error"))),
            detail=_str_or_none(
                lowered.get("detail", lowered.get("error_description", lowered.get("message")))
            ),
            status=status_int,
        )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


_DUPLICATE_REFERENCE = re.compile(
    r"ExternalImportReference is already in use\.\s*'(?P<reference>.*)' is used on salary line with Id = (?P<id>\d+)",
    re.IGNORECASE | re.DOTALL,
)


def duplicate_reference_line_id(detail: str | None) -> int | None:
    """The existing line's id when PowerOffice Go refused a POST because the reference is taken."""
    if not detail:
        return None
    match = _DUPLICATE_REFERENCE.search(detail)
    return int(match.group("id")) if match else None


_RETRY_IN = re.compile(r"try again in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)


def retry_after_seconds(headers: Any, content: bytes) -> float | None:
    """Seconds a 429 asks us to wait, from Retry-After or the 'Try again in N seconds' message."""
    header = headers.get("retry-after") if headers is not None else None
    if header:
        try:
            return float(header)
        except ValueError:
            pass
    match = _RETRY_IN.search(content.decode("utf-8", "replace")) if content else None
    return float(match.group(1)) if match else None
