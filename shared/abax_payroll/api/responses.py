"""What the API answers (pydantic), so the OpenAPI document has a schema for every response.

Answers may carry fields beyond those listed (`extra="allow"`): a field a use case adds is never dropped
on the way out, and the document says which fields a client can count on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class PeriodAnswer(Answer):
    start: str = Field(alias="from", description="First day, YYYY-MM-DD.")
    end: str = Field(alias="to", description="Last day, YYYY-MM-DD, inclusive.")


class ProblemItem(Answer):
    """A validation problem: errors block the export, warnings inform."""

    code: str
    message: str
    severity: str | None = None
    items: list[dict[str, Any]] = Field(default_factory=list)
    params: dict[str, Any] | None = None
    item_count: int | None = Field(
        None, description="How many items the problem has (an export's: items holds the first of them)."
    )
    truncated: bool | None = Field(
        None,
        description="An export's problem of which items, params and message hold only the beginning: "
        "GET /exports/{id}/problems/{code} pages through it whole.",
    )


class ProblemPage(Answer):
    """One problem of an export or a search, whole, and a page of its items."""

    export_id: str | None = None
    preview_id: str | None = None
    code: str
    severity: str | None = None
    message: str
    params: dict[str, Any] | None = None
    item_count: int = Field(description="How many items the problem has in all.")
    offset: int
    items: list[dict[str, Any]]
    next_offset: int | None = Field(None, description="Pass as offset for the next page; null on the last.")


class PayrollCodesAnswer(Answer):
    codes: dict[str, str | None] = Field(description="Pay-item code per category; null when not mapped.")
    taxable_excess: str | None = None
    undocumented_trips: Literal["taxable", "block"] = Field(
        "taxable", description="What a trip without purpose or start and end place does (TRIP_UNDOCUMENTED)."
    )


class PayItemAnswer(Answer):
    code: str
    name: str | None = None
    active: bool
    processing_type: str | None = None
    fits: Literal["km", "outlay", "none"]
    benefit_description: str | None = Field(
        None,
        description="The a-melding description (PowerOffice's BenefitDescription), e.g. KilometergodtgjoerelseBil.",
    )
    tax_deduction: str | None = Field(
        None, description="NoTax, Percentage or TaxTable (PowerOffice's TaxDeduction)."
    )
    employer_contribution_basis: bool | None = None
    include_in_income_report: bool | None = None


class PayItemsAnswer(Answer):
    pay_items: list[PayItemAnswer]


class RateAnswer(Answer):
    category: str
    valid_from: str
    valid_to: str | None = None
    rate: str


class RateInForce(Answer):
    category: str
    rate: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    tax_free_rate: str | None = None


class RatesAnswer(Answer):
    rates: list[RateAnswer]
    passenger_supplement: Literal["per_passenger", "per_km"] = Field(
        "per_passenger", description="Paid per passenger and km (the state agreement) or per km."
    )
    tax_free_rates: list[RateAnswer] = Field(default_factory=list)
    state_rates: list[RateAnswer] = Field(
        default_factory=list, description="The state's rates (statens satser)."
    )
    today: str | None = None
    in_force: list[RateInForce] = Field(default_factory=list)
    warnings: list[ProblemItem] = Field(default_factory=list)


class Driver(Answer):
    id: str | None = None
    name: str | None = None
    employee_number: str | None = None


class PreviewLogbook(Answer):
    logbook_id: str
    driver: Driver
    vehicle_id: str | None = None
    vehicle_alias: str | None = Field(None, description="The car's ABAX alias: what people call it.")
    month: str
    trips: int
    km: str
    already_exported: bool
    exported_in: list[str]
    selected: bool


class LineAnswer(Answer):
    employee_number: str
    employee_name: str
    categories: list[str]
    pay_item_code: str
    pay_item_name: str | None = Field(None, description="The pay item's name in PowerOffice Go (preview).")
    quantity: str | None = None
    rate: str | None = None
    amount: str
    trip_count: int
    first_date: str | None = Field(None, description="The line's own first trip date (Oslo).")
    last_date: str | None = Field(None, description="The line's own last trip date (Oslo).")
    kind: Literal["allowance", "taxable_excess"] = Field(
        "allowance",
        description="taxable_excess: the part above the tax-free rate, on the company's taxable pay item.",
    )
    tax_free_rate: str | None = None
    tax_free_amount: str | None = Field(
        None, description="Of the amount: outlays and km up to the tax-free rate."
    )
    taxable_amount: str | None = Field(
        None, description="Of the amount: km allowance above the tax-free rate (salary)."
    )
    paid_rate: str | None = Field(
        None, description="The rate table's rate, when the line is one part of a split."
    )
    pay_item_rate: str | None = Field(
        None, description="A fixed-rate pay item's own rate, which the line's Rate overrides."
    )
    warnings: list[str] = Field(default_factory=list, description="Codes of warnings on this line.")


class EmployeeTotal(Answer):
    employee_number: str
    employee_name: str
    amount: str
    tax_free_amount: str | None = None
    taxable_amount: str | None = None


class Totals(Answer):
    lines: int
    amount: str
    tax_free_amount: str | None = None
    taxable_amount: str | None = None
    employees: list[EmployeeTotal]


class SearchProgress(Answer):
    phase: str = Field(examples=["reading_trips", "done"])
    trips_read: int = Field(description="Trips ABAX has listed so far.")
    trips_expected: int | None = Field(
        None, description="About how many the period has (ABAX gives no total)."
    )
    calls: int = Field(description="ABAX calls made for this search.")


class PreviewPending(Answer):
    """A search still reading ABAX (202): poll GET /exports/previews/{preview_id}."""

    preview_id: str
    status: str = Field(examples=["RUNNING", "READY", "FAILED"])
    period: PeriodAnswer
    progress: SearchProgress
    error: dict[str, Any] | None = None


class LeftBehindPage(Answer):
    """A page of the salary lines an export's rollback left in PowerOffice Go, and why."""

    export_id: str
    left_behind_count: int = Field(description="How many lines were left in all.")
    offset: int
    left_behind: list[dict[str, Any]] = Field(
        description="salary_line_id, employee, pay item, amount, reason_code and reason."
    )
    next_offset: int | None = Field(None, description="Pass as offset for the next page; null on the last.")


class LinePage(Answer):
    """A page of the lines of a search (preview_id) or an export (export_id)."""

    export_id: str | None = None
    preview_id: str | None = None
    line_count: int = Field(description="How many lines there are in all.")
    offset: int
    lines: list[LineAnswer]
    next_offset: int | None = Field(None, description="Pass as offset for the next page; null on the last.")


LINES_NEXT = Field(
    None,
    description="Set when `lines` holds only the first of them (1,000): GET …/lines?offset= pages through the rest.",
)


class Preview(Answer):
    preview_id: str | None = Field(
        None, description="The search's snapshot of ABAX, reused by the next search."
    )
    status: str | None = Field(None, examples=["READY"])
    progress: SearchProgress | None = None
    period: PeriodAnswer
    logbooks: list[PreviewLogbook]
    lines: list[LineAnswer]
    lines_next_offset: int | None = LINES_NEXT
    totals: Totals
    problems: list[ProblemItem]
    ready: bool = Field(description="True when no problem blocks the export.")


class ExportSummary(Answer):
    export_id: str
    status: str = Field(
        examples=["RUNNING", "COMPLETED", "VALIDATION_FAILED", "ROLLED_BACK", "ROLLBACK_INCOMPLETE", "FAILED"]
    )
    period: PeriodAnswer
    trigger: str
    phase: str | None = Field(
        None,
        description="While RUNNING: VALIDATING (checking), PUSHING (lines_pushed of line_count), ROLLING_BACK or "
        "RESUMING (a user's recovery run); DONE when finished.",
        examples=["VALIDATING", "PUSHING", "ROLLING_BACK", "RESUMING", "DONE"],
    )
    line_count: int
    lines_pushed: int
    total_amount: str | None = None
    tax_free_amount: str | None = None
    taxable_amount: str | None = None
    totals_source: str | None = Field(
        None,
        description="Where line_count and the amounts come from: `preview` (the search the user confirmed, "
        "shown from the export's first second, computed by the service) until the export's own check has "
        "planned its lines (`checked`); null while neither knows them (e.g. a scheduled export being checked).",
        examples=["preview", "checked"],
    )
    created_at: str | None = None
    created_by: str | None = None
    finished_at: str | None = None
    undone_by: str | None = Field(
        None,
        description="ROLLED_BACK because this user undid the completed export (not a failure); null otherwise.",
    )


class ExportList(Answer):
    exports: list[ExportSummary]
    next_token: str | None = Field(
        None, description="Pass as next_token for the next page; null on the last."
    )


class ExportLine(LineAnswer):
    external_import_reference: str
    salary_line_id: int | None = Field(None, description="The line's id in PowerOffice Go once created.")


class ExportErrorAnswer(Answer):
    code: str = Field(description="The state machine's error name (PushFailed).")
    message: str
    problem_code: str | None = Field(None, description="The same as a stable problem code (PUSH_FAILED).")
    params: dict[str, Any] = Field(
        default_factory=dict, description="The facts: employee, pay item, amount, PowerOffice Go's status."
    )


class HistoryEntry(Answer):
    """Who asked for a rollback or resume, when, and how it ended (further fields by outcome: deleted,
    left_behind, created, exports, execution_arn)."""

    at: str
    by: str | None = Field(
        None, description="The user, or 'system' for the automatic rollback after a failed push."
    )
    action: str = Field(examples=["rollback", "resume"])
    outcome: str = Field(
        examples=[
            "STARTED",
            "ROLLED_BACK",
            "ROLLBACK_INCOMPLETE",
            "REFUSED",
            "COMPLETED",
            "BLOCKED",
            "NOT_STARTED",
        ]
    )


class ExportDetail(ExportSummary):
    logbook_ids: list[str] | None = None
    lines: list[ExportLine]
    lines_next_offset: int | None = LINES_NEXT
    problems: list[ProblemItem]
    error: ExportErrorAnswer | None = None
    rollback: dict[str, Any] | None = Field(
        None, description="What the rollback deleted and what it left behind, and why."
    )
    history: list[HistoryEntry] = Field(default_factory=list, description="Recovery actions, oldest first.")
    actions: list[str] = Field(
        default_factory=list,
        description="The ways forward: rollback and resume (POST /exports/{id}/<action>), retry (a new export "
        "of the same period and logbook_ids).",
        examples=[["rollback", "resume"]],
    )
    execution_arn: str | None = None
    updated_at: str | None = None


class ReportSalaryLine(Answer):
    pay_item_code: str
    salary_line_id: int | None = None
    external_import_reference: str


class ReportRow(Answer):
    """One trip (its km and supplements) or one of its outlays, as the employer documents it
    (skattebetalingsforskriften § 5-6-12)."""

    employee_number: str
    employee_name: str
    month: str
    date: str
    departure: str | None = Field(None, description="Departure time, HH:MM in Oslo time.")
    arrival: str | None = Field(
        None, description="Arrival time, HH:MM in Oslo time (empty when ABAX has none)."
    )
    trip_id: str
    purpose: str
    notes: str | None = Field(None, description="The trip's notes in ABAX (who was visited).")
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    vehicle: str | None = Field(None, description="The car's ABAX alias.")
    kind: str | None = Field(
        None,
        description="trip: the trip's km and supplements; toll, parking or ferry: an outlay refunded at cost.",
    )
    km: str | None = Field(None, description="The trip's km, on its trip row only (never on an outlay row).")
    category: str
    categories: list[str] | None = Field(None, description="The categories paid on this row.")
    quantity: str
    unit: str
    passengers: list[str]
    supplement_km: dict[str, str] | None = Field(
        None, description="Supplement km per category (passenger: passenger-km) on a trip row."
    )
    rate: str | None = Field(None, description="The km rate of the car (trip rows).")
    amount: str
    tax_free_amount: str
    taxable_amount: str
    salary_lines: list[ReportSalaryLine]


class Report(ExportSummary):
    company: str | None = Field(None, description="The company in PowerOffice Go the export went to.")
    covers: Literal["all", "lines_in_poweroffice"] = Field(
        "all",
        description="lines_in_poweroffice: a partly undone export (ROLLBACK_INCOMPLETE): only the rows on salary lines "
        "still in PowerOffice Go.",
    )
    part: int = Field(0, description="Which part of the report this is, from 0")
    parts: int = Field(1, description="How many parts the report has (GET ...?part=0 to parts-1, in order)")
    rows: list[ReportRow]


class PreviewResource(PreviewPending):
    """A search: its progress while ABAX is read; once READY, the preview's fields as well."""

    logbooks: list[PreviewLogbook] | None = None
    lines: list[LineAnswer] | None = None
    lines_next_offset: int | None = LINES_NEXT
    totals: Totals | None = None
    problems: list[ProblemItem] | None = None
    ready: bool | None = None
