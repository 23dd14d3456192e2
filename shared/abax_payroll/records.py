"""What the store keeps and the workflow passes around, typed: export records, planned lines, statuses.

The store returns these and the steps take them; nothing above the store reads a raw DynamoDB item.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .domain.period import Period


class ExportStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    ROLLED_BACK = "ROLLED_BACK"
    ROLLBACK_INCOMPLETE = "ROLLBACK_INCOMPLETE"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        return self is not ExportStatus.RUNNING


TERMINAL_STATUSES = frozenset(status for status in ExportStatus if status.terminal)


class ExportPhase(StrEnum):
    NOT_STARTED = "NOT_STARTED"  # a start that failed before its workflow ran (FAILED, with the reason)
    VALIDATING = "VALIDATING"
    PUSHING = "PUSHING"
    ROLLING_BACK = "ROLLING_BACK"  # a user's rollback again (POST /exports/{id}/rollback)
    RESUMING = "RESUMING"  # a user's resume, until the missing lines are pushed (POST /exports/{id}/resume)
    DONE = "DONE"


class RecoveryAction(StrEnum):
    """A user's way forward for a finished export; each runs as an execution `<export id>-<action>-<n>`."""

    ROLLBACK = "rollback"
    RESUME = "resume"


class Record(BaseModel):
    """A stored record: fields the store does not know are ignored, values are checked on the way in."""

    # defer_build: a model's validator is built when it is first used, not at import (a cold start uses few).
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)

    def stored(self) -> dict[str, Any]:
        """The item's attributes as DynamoDB takes them (JSON types; numbers stay ints, money stays text)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ExportPeriod(Record):
    start: str = Field(alias="from")
    end: str = Field(alias="to")

    @classmethod
    def of(cls, period: Period) -> ExportPeriod:
        return cls.model_validate({"from": period.start.isoformat(), "to": period.end.isoformat()})

    def parsed(self) -> Period:
        return Period.parse(self.start, self.end)


class ExportError(Record):
    code: str
    message: str

    @classmethod
    def of_state(cls, error: Any, default_code: str) -> ExportError:
        """From a Step Functions error object {"Error", "Cause"} as the state machine passes it on."""
        code = error.get("Error", default_code) if isinstance(error, dict) else default_code
        return cls(code=code, message=error_message(error))


def error_message(error: Any) -> str:
    """The readable message of a Step Functions error object {"Error", "Cause"}."""
    if not isinstance(error, dict):
        return "unknown error"
    cause = error.get("Cause") or ""
    try:
        parsed = json.loads(cause)
        if isinstance(parsed, dict):
            cause = parsed.get("errorMessage") or cause
    except (TypeError, ValueError):
        pass
    return f"{error.get('Error', 'Error')}: {cause}" if cause else str(error.get("Error", "Error"))


class ExportCredentials(Record):
    """The PowerOffice Go key an export was started with: its push and rollback use exactly this one."""

    poweroffice_secret_version: str | None = None  # the Secrets Manager version of the tenant's client key
    poweroffice_client_id: str | None = None  # Go's ClientId of that key (to recognise the same company)
    poweroffice_client_name: str | None = None


class ExportRecord(Record):
    """One export: who started it, for which period, where it is, and how it ended."""

    export_id: str
    tenant_id: str
    status: ExportStatus
    phase: ExportPhase | None = None
    execution_arn: str | None = None
    period: ExportPeriod
    logbook_ids: list[str] | None = None
    trigger: str = "manual"
    created_at: str | None = None
    created_by: str | None = None
    updated_at: str | None = None
    finished_at: str | None = None
    line_count: int = 0
    lines_pushed: int = 0
    logbook_count: int | None = None
    trip_count: int | None = None
    chunk_count: int | None = None
    total_amount: str | None = None
    tax_free_amount: str | None = None  # of total_amount: outlays and km up to the tax-free rate
    taxable_amount: str | None = None  # km allowance above the tax-free rate (salary)
    # Where line_count and the amounts come from: "preview" (the search the user confirmed, copied in at the
    # start) until the export's own check has planned the lines ("checked"); None before either knows them.
    totals_source: str | None = None
    ledger_months: list[str] | None = None
    # The documentation report's S3 object (set by Group); None for older exports (REPORT# items) or none.
    report_key: str | None = None
    # How many parts the report is kept in (`reports/<tenant>/<export>.report.<n>.json.gz`); None: older exports.
    report_parts: int | None = None
    # Each problem's summary (item_count, its first items); the whole list in S3 when anything was cut.
    problems: list[dict[str, Any]] = Field(default_factory=list)
    problems_key: str | None = None
    error: ExportError | None = None
    push_failure: dict[str, Any] | None = (
        None  # the refused line's facts (employee, pay item, amount, status)
    )
    rollback: dict[str, Any] | None = None
    credentials: ExportCredentials | None = None
    # Who asked for what and how it ended: {"at", "by", "action", "outcome", ...} oldest first.
    history: list[dict[str, Any]] = Field(default_factory=list)
    recovery_action: RecoveryAction | None = None  # the last rollback again / resume asked for
    recovery_by: str | None = None
    recovering_from: ExportStatus | None = None  # the status that run started from
    finished_before: str | None = (
        None  # when the export had finished before that run (a refused undo keeps it)
    )
    # While a rollback deletes the export's lines in Go: until when (epoch seconds) its invocation may still act
    # there (its Lambda deadline). A stopped run's end is recorded only after it (workflow/ended.py).
    deleting_until: float | None = None

    @property
    def running(self) -> bool:
        return self.status is ExportStatus.RUNNING


class PlannedLine(Record):
    """A salary line as Group planned it: what is POSTed to PowerOffice Go and shown in the export."""

    index: int
    employee_number: str
    employee_name: str
    categories: list[str]
    pay_item_code: str
    quantity: str | None = None
    rate: str | None = None
    amount: str
    trip_count: int
    employee_id: int
    pay_item_id: str
    ref: str
    comment: str
    fields: dict[str, str]
    first_date: str | None = None  # the line's own first and last trip dates (Oslo)
    last_date: str | None = None
    kind: str = "allowance"  # or "taxable_excess": the part above the tax-free rate on its own pay item
    tax_free_rate: str | None = None
    tax_free_amount: str | None = None  # None on lines planned before the tax split: the whole amount
    taxable_amount: str | None = None
    paid_rate: str | None = None
    split_from: str | None = None
    pay_item_rate: str | None = None
    warnings: list[str] = Field(default_factory=list)
    # Month -> the trips this line pays, as positions in the export's claimed trip list of that month (the ledger).
    trips: dict[str, list[int]] = Field(default_factory=dict)
    salary_line_id: int | None = None  # once created in PowerOffice Go (filled in by LineStore.get_lines)


class Connection(Record):
    """A tenant's connection to one of the services we call: who switched it on or off, and when."""

    status: str = "inactive"
    secret_version: str | None = None  # the Secrets Manager version of the credentials now in use
    activated_at: str | None = None
    activated_by: str | None = None
    deactivated_at: str | None = None
    deactivated_by: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


class Integration(Connection):
    """A tenant's PowerOffice Go integration (the client key itself lives in Secrets Manager)."""

    client_name: str | None = None
    client_id: str | None = None
    secret_arn: str | None = None


class AbaxIntegration(Connection):
    """A tenant's ABAX connection: the organisation's own API client (the pair lives in Secrets Manager)."""


class ScheduleSetting(Record):
    enabled: bool = False
    day_of_month: int = 1
    # Who hears of a scheduled export's outcome by e-mail (the company's admins; empty: nobody).
    notification_emails: list[str] = Field(default_factory=list)


# Line index -> PowerOffice Go salary-line id.
CreatedIds = dict[int, int]
