"""What PowerOffice Go knows that the rules need: employees and pay items, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .categories import Category

FIXED_RATE = "QuantityAndFixedRate"
# The a-melding descriptions (PowerOffice's BenefitDescriptionType) km categories must report under.
CAR_KM = "KilometergodtgjoerelseBil"  # the car's km, with the trailer, forest-road and equipment supplements
PASSENGER_KM = "KilometergodtgjoerelsePassasjertillegg"
NO_TAX = "NoTax"
WITHHOLDING = "QuantityAndRateSubjectToWithholdingTax"
AMOUNT_TYPES = frozenset({"ExpenseRefund", "FixedAmount"})
REPORTING_ZERO = "ReportingZeroAsQuantity"


@dataclass(frozen=True, slots=True)
class Employee:
    id: int  # PowerOffice EmployeeId
    number: str  # "ansattnummer"
    name: str
    archived: bool = False


@dataclass(frozen=True, slots=True)
class PayItem:
    id: str  # PowerOffice PayItemId (uuid)
    code: str  # "lønnsart"
    name: str
    active: bool
    processing_type: str
    rate: Decimal | None = (
        None  # the pay item's own rate (QuantityAndFixedRate), which a line's Rate overrides
    )
    # Its a-melding coding (PowerOffice's PayItemDto): what the income report says the amounts are.
    benefit_description: str | None = None  # e.g. KilometergodtgjoerelseBil
    tax_deduction: str | None = None  # NoTax | Percentage | TaxTable
    employer_contribution_basis: bool | None = None
    include_in_income_report: bool | None = None

    @property
    def coding_known(self) -> bool:
        """Whether the a-melding coding was read (PowerOffice always sends its booleans)."""
        return self.employer_contribution_basis is not None or self.include_in_income_report is not None

    @property
    def withholds_and_contributes(self) -> bool:
        """Tax is withheld and employer's contribution counted: what taxable salary needs."""
        return bool(self.tax_deduction and self.tax_deduction != NO_TAX and self.employer_contribution_basis)

    @property
    def sends_quantity(self) -> bool:
        return self.processing_type.startswith(FIXED_RATE) or self.processing_type.startswith(
            "QuantityAndRate"
        )

    @property
    def sends_rate(self) -> bool:
        """Every quantity type takes a Rate; on a fixed-rate pay item it overrides the pay item's own rate,
        so Go pays the rate the preview showed (PowerOffice's ProcessingType description)."""
        return self.sends_quantity

    @property
    def sends_amount(self) -> bool:
        return self.processing_type in AMOUNT_TYPES

    @property
    def reports_zero_quantity(self) -> bool:
        """`…ReportingZeroAsQuantity` types report 0 as the quantity in the a-melding: km would go unreported."""
        return self.processing_type.endswith(REPORTING_ZERO)

    @property
    def withholds_taxable_part(self) -> bool:
        """The pay item splits the tax-free and the taxable part itself (linked to a pay item that withholds)."""
        return self.processing_type == WITHHOLDING

    def accepts(self, category: Category) -> bool:
        """km categories need a quantity pay item that reports the km, outlays an amount pay item."""
        if category.is_distance:
            return self.sends_quantity and not self.reports_zero_quantity
        return self.sends_amount

    def accepts_taxable_excess(self) -> bool:
        """The pay item for the taxable excess: quantity × rate, or an amount."""
        return (self.sends_quantity and not self.reports_zero_quantity) or self.sends_amount

    @property
    def expects(self) -> str:
        if self.reports_zero_quantity:
            return "no km category: it reports 0 as the quantity in the a-melding, so the km would not be reported"
        if self.sends_quantity:
            return "a km category"
        if self.sends_amount:
            return "an outlay category (toll, parking, ferry)"
        return "nothing this integration exports"
