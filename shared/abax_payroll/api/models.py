"""Request and response bodies of the API (pydantic; unknown fields are refused)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from ..domain.categories import Category

PayItemCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20, pattern=r"^[A-Za-z0-9._-]+$")
]
IsoDate = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
RATE_PATTERN = r"^(1000(\.0{1,2})?|[0-9]{1,3}(\.[0-9]{1,2})?)$"
LogbookId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# The ids are kept in the export's record, and a DynamoDB item holds at most 400 KB: 1,000 ids of at most
# 200 characters stay under half of it. More logbooks than that are exported by leaving the list out.
MAX_LOGBOOK_IDS = 1000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ActivateRequest(Strict):
    # A SecretStr: whatever prints the request (powertools' DEBUG log of a route's arguments, a
    # traceback) shows '**********', never the key.
    client_key: Annotated[SecretStr, Field(min_length=1, max_length=512)] = Field(
        description="The client key the company created for this integration in PowerOffice Go."
    )

    @field_validator("client_key")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value().strip()
        if not key:
            raise ValueError("the client key is blank")
        return SecretStr(key)


class AbaxActivateRequest(Strict):
    client_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)] = Field(
        description="The client id of the API client ABAX issued to the company."
    )
    # A SecretStr, like the PowerOffice client key: printed, it shows '**********'.
    client_secret: Annotated[SecretStr, Field(min_length=1, max_length=512)] = Field(
        description="The client secret of that API client."
    )


class AbaxIntegrationStatus(BaseModel):
    status: Literal["active", "inactive"]
    activated_at: str | None = None
    activated_by: str | None = None


class IntegrationStatus(BaseModel):
    status: Literal["active", "inactive"]
    client_name: str | None = None
    activated_at: str | None = None
    activated_by: str | None = None


# What switching an integration off answers. Here beside the integration's other answers, not in responses.py:
# the activation function's cold start then does not create the export API's 30 answers. (No docstring: it
# would become the schema's description in docs/openapi.json.)
class Deactivated(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    status: Literal["inactive"]


class PayrollCodes(Strict):
    codes: dict[Category, PayItemCode | None] = Field(
        description="Pay-item code ('lønnsart') per category; null when not mapped. Categories left out are unmapped.",
        examples=[{"mileage": "710", "passenger": "711", "toll": "720", "parking": "721", "ferry": "722"}],
    )
    taxable_excess: PayItemCode | None = Field(
        None,
        description="Pay item for the part of a km allowance above the tax-free rate (taxable salary), sent as a line "
        "of its own; null when the km pay items withhold it themselves (QuantityAndRateSubjectToWithholdingTax).",
    )
    undocumented_trips: Literal["taxable", "block"] | None = Field(
        None,
        description="A trip without a purpose or a start and end place: 'taxable' (the default) pays it with its "
        "whole allowance taxable and warns (TRIP_UNDOCUMENTED); 'block' stops the export until it is documented. "
        "Unchanged when left out.",
    )


class RateEntry(Strict):
    category: Category
    valid_from: date
    valid_to: date | None = Field(
        None, description="Last day the rate applies (inclusive); null: until the next rate."
    )
    rate: Annotated[
        Decimal,
        Field(ge=0, le=1000, max_digits=8, decimal_places=2),
        # What the API accepts, so that the document does not promise any string: NOK per km or
        # passenger-km as a decimal string with at most 2 decimals (a whole number also does).
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "pattern": RATE_PATTERN, "examples": ["5.30"]},
                    {"type": "integer", "minimum": 0, "maximum": 1000},
                ],
                "title": "Rate",
                "description": "NOK per unit, 0 to 1000, at most 2 decimals.",
            }
        ),
    ]


class Rates(Strict):
    rates: Annotated[list[RateEntry], Field(min_length=1, max_length=500)]
    tax_free_rates: Annotated[list[RateEntry], Field(min_length=1, max_length=500)] | None = Field(
        None,
        description="Tax-free rates per km category and year (default 3.50 own car, 1.00 supplements); unchanged when left out.",
    )
    passenger_supplement: Literal["per_passenger", "per_km"] | None = Field(
        None,
        description="How the passenger supplement's rate is paid: per passenger and km (the state agreement's "
        "default) or per km whatever the number of passengers; its tax-free part counts per passenger either way. "
        "Unchanged when left out.",
    )


# A plain address check (the part before and after @, a dot in the domain); SES itself refuses what is not
# deliverable, and the web app's field is type="email". Control characters are named, not left to `\s`: the
# document's pattern and the model's must accept the same strings (Python's `\s` takes U+001C..U+001F, the
# Rust regex pydantic runs does not), and nothing is stripped, so what the document allows is what is kept.
_ADDRESS_PART = r"[^@\s,;<>\x00-\x1f\x7f]+"
EmailAddress = Annotated[
    str,
    StringConstraints(max_length=254, pattern=rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$"),
]
MAX_NOTIFICATION_EMAILS = 10


class Schedule(Strict):
    enabled: bool
    day_of_month: Annotated[int, Field(ge=1, le=28)]
    notification_emails: Annotated[list[EmailAddress], Field(max_length=MAX_NOTIFICATION_EMAILS)] | None = (
        Field(
            None,
            description="Who gets an e-mail (in Norwegian, with a link to the export) when a scheduled export completes, "
            "fails, rolls back or cannot start: the company's admins, at most 10. Unchanged when left out; [] for nobody.",
        )
    )


class PeriodRequest(Strict):
    start: IsoDate = Field(alias="from", description="First day, YYYY-MM-DD (Europe/Oslo).")
    end: IsoDate = Field(alias="to", description="Last day, YYYY-MM-DD, inclusive.")
    logbook_ids: Annotated[list[LogbookId], Field(max_length=MAX_LOGBOOK_IDS)] | None = Field(
        None,
        description="Only these logbooks (at most 1,000); all logbooks found in the period when left out.",
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ExportStarted(BaseModel):
    export_id: str
    status: Literal["RUNNING"]


class RecoveryAnswer(BaseModel):
    """202 while the rollback or resume runs (status RUNNING); 200 with the export's status when there was
    nothing to do (already rolled back, already complete)."""

    export_id: str
    status: Literal[
        "RUNNING", "COMPLETED", "VALIDATION_FAILED", "ROLLED_BACK", "ROLLBACK_INCOMPLETE", "FAILED"
    ]
    action: Literal["rollback", "resume"]
