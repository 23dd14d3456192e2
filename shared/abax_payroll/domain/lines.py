"""Grouping trips into salary lines: one line per (employee, pay item, rate)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .categories import Category
from .logbooks import Logbook
from .money import ZERO, fmt2, round2
from .payroll import PayItem
from .period import Period
from .rates import RateTable


@dataclass(frozen=True, slots=True)
class SalaryLineDraft:
    """A salary line before it is sent: what Go will show as imported payroll basis."""

    employee_number: str
    employee_name: str
    pay_item_code: str
    categories: tuple[Category, ...]
    quantity: Decimal | None  # km or passenger-km, None for outlays
    rate: Decimal | None  # NOK per km, None for outlays
    amount: Decimal
    trip_count: int
    period: Period = field(compare=False)

    @property
    def key(self) -> str:
        rate = fmt2(self.rate) if self.rate is not None else "-"
        return f"{self.employee_number}|{self.pay_item_code}|{rate}"

    def external_import_reference(self, export_id: str) -> str:
        """Deterministic and unique per export and line: a retried POST can never create a second line."""
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:12]
        return f"{reference_prefix(export_id)}{digest}"

    def comment(self) -> str:
        labels = ", ".join(category.label_no for category in self.categories)
        period = f"{self.period.start:%d.%m.%Y}-{self.period.end:%d.%m.%Y}"
        trips = f"{self.trip_count} {'tur' if self.trip_count == 1 else 'turer'}"
        if self.quantity is not None:
            unit = "passasjer-km" if self.categories == (Category.PASSENGER,) else "km"
            return f"ABAX {labels} {period}: {self.quantity} {unit} à {self.rate}, {trips}"
        return f"ABAX {labels} {period}: {self.amount} kr, {trips}"

    def post_fields(self, pay_item: PayItem) -> dict[str, Decimal]:
        """Quantity, Rate and/or Amount, as the pay item's ProcessingType wants them."""
        fields: dict[str, Decimal] = {}
        if pay_item.sends_quantity and self.quantity is not None:
            fields["Quantity"] = self.quantity
            if pay_item.sends_rate and self.rate is not None:
                fields["Rate"] = self.rate
        elif pay_item.sends_amount:
            fields["Amount"] = self.amount
        return fields

    def to_dict(self) -> dict[str, Any]:
        return {
            "employee_number": self.employee_number,
            "employee_name": self.employee_name,
            "categories": [category.value for category in self.categories],
            "pay_item_code": self.pay_item_code,
            "quantity": fmt2(self.quantity) if self.quantity is not None else None,
            "rate": fmt2(self.rate) if self.rate is not None else None,
            "amount": fmt2(self.amount),
            "trip_count": self.trip_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], period: Period) -> SalaryLineDraft:
        return cls(
            employee_number=data["employee_number"],
            employee_name=data["employee_name"],
            pay_item_code=data["pay_item_code"],
            categories=tuple(Category(value) for value in data["categories"]),
            quantity=Decimal(data["quantity"]) if data.get("quantity") is not None else None,
            rate=Decimal(data["rate"]) if data.get("rate") is not None else None,
            amount=Decimal(data["amount"]),
            trip_count=int(data["trip_count"]),
            period=period,
        )


def reference_prefix(export_id: str) -> str:
    return f"ABAX-{export_id}-"


@dataclass(slots=True)
class _Accumulator:
    employee_name: str
    categories: set[Category] = field(default_factory=set)
    quantity: Decimal = ZERO
    amount: Decimal = ZERO
    trip_ids: set[str] = field(default_factory=set)


def group_lines(
    logbooks: Iterable[Logbook],
    codes: Mapping[Category, str | None],
    rates: RateTable,
    period: Period,
    employee_names: Mapping[str, str] | None = None,
) -> list[SalaryLineDraft]:
    """Sum trips exactly per (employee, pay item, rate), round half-up once at the end.

    Categories without a code and drivers without an employee number are skipped here:
    validation reports them and stops the export before anything is sent.
    """
    groups: dict[tuple[str, str, Decimal | None], _Accumulator] = {}
    names = employee_names or {}
    for logbook in logbooks:
        number = logbook.driver.employee_number
        if not number:
            continue
        name = names.get(number, logbook.driver.name)
        for trip in logbook.trips:
            for category, quantity in trip.quantities().items():
                code = codes.get(category)
                if not code:
                    continue
                rate = rates.rate_for(category, trip.date) if category.is_distance else None
                group = groups.get((number, code, rate))
                if group is None:
                    group = groups[(number, code, rate)] = _Accumulator(employee_name=name)
                group.categories.add(category)
                group.trip_ids.add(trip.trip_id)
                if category.is_distance:
                    group.quantity += quantity
                else:
                    group.amount += quantity
    lines = []
    for (number, code, rate), group in groups.items():
        line_quantity: Decimal | None = None
        if rate is not None:
            line_quantity = round2(group.quantity)
            amount = round2(line_quantity * rate)
        else:
            amount = round2(group.amount)
        if not line_quantity and not amount:
            continue
        lines.append(
            SalaryLineDraft(
                employee_number=number,
                employee_name=group.employee_name,
                pay_item_code=code,
                categories=tuple(sorted(group.categories, key=list(Category).index)),
                quantity=line_quantity,
                rate=rate,
                amount=amount,
                trip_count=len(group.trip_ids),
                period=period,
            )
        )
    return sorted(lines, key=_line_order)


def _line_order(line: SalaryLineDraft) -> tuple[Any, ...]:
    number = line.employee_number
    return (int(number) if number.isdigit() else 10**18, number, line.pay_item_code, line.rate or ZERO)
