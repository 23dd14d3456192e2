"""What PowerOffice Go knows that the rules need: employees and pay items, as plain values."""

from __future__ import annotations

from dataclasses import dataclass

from .categories import Category

QUANTITY_ONLY = "QuantityAndFixedRate"
AMOUNT_TYPES = frozenset({"ExpenseRefund", "FixedAmount"})


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

    @property
    def sends_quantity(self) -> bool:
        return self.processing_type == QUANTITY_ONLY or self.processing_type.startswith("QuantityAndRate")

    @property
    def sends_rate(self) -> bool:
        return self.processing_type.startswith("QuantityAndRate")

    @property
    def sends_amount(self) -> bool:
        return self.processing_type in AMOUNT_TYPES

    def accepts(self, category: Category) -> bool:
        """km categories need a quantity pay item, outlays an amount pay item."""
        return self.sends_quantity if category.is_distance else self.sends_amount

    @property
    def expects(self) -> str:
        if self.sends_quantity:
            return "a km category"
        if self.sends_amount:
            return "an outlay category (toll, parking, ferry)"
        return "nothing this integration exports"
