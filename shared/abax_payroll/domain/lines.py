"""Grouping trips into salary lines: one line per (employee, pay item, rate), and what each line says."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from .categories import Category
from .logbooks import Logbook
from .money import ZERO, fmt2, round2
from .payroll import PayItem
from .period import Period
from .problems import PASSENGER_NAMES_MISSING
from .rates import RateMissing, RateTable
from .taxfree import tax_free_rate
from .trips import Trip

ALLOWANCE = "allowance"
TAXABLE_EXCESS = "taxable_excess"


def nok(value: Decimal) -> str:
    """Norwegian number format, as the payslip shows it: 1 686,46 (space between thousands, decimal comma)."""
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(round2(value)):.2f}".split(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{sign}{' '.join(groups)},{cents}"


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
    first_date: date | None = None  # the line's own first and last trip dates (Oslo)
    last_date: date | None = None
    tax_free_rate: Decimal | None = None  # per km, from the tax-free table (km lines)
    kind: str = ALLOWANCE  # or TAXABLE_EXCESS: the part above the tax-free rate on its own pay item
    paid_rate: Decimal | None = None  # the rate table's rate, when this line is one part of a split
    split_from: str | None = None  # the mileage pay item whose taxable excess this line carries
    warnings: tuple[str, ...] = ()
    pay_item_rate: Decimal | None = None  # a fixed-rate pay item's own rate when it differs (overridden)
    # The trips this line pays: the ledger holds a trip exactly while one of its lines exists in Go.
    trip_ids: tuple[str, ...] = field(default=(), compare=False)

    @property
    def key(self) -> str:
        rate = fmt2(self.rate) if self.rate is not None else "-"
        key = f"{self.employee_number}|{self.pay_item_code}|{rate}"
        if self.tax_free_rate is not None:
            key += f"|tf:{fmt2(self.tax_free_rate)}"
        if self.paid_rate is not None:
            key += f"|paid:{fmt2(self.paid_rate)}"
        if self.split_from is not None:
            key += f"|excess-of:{self.split_from}"
        return key

    @property
    def tax_free_amount(self) -> Decimal:
        """What of the amount is tax-free: outlays refunded at cost, km up to the tax-free rate."""
        if self.kind == TAXABLE_EXCESS:
            return ZERO
        if self.quantity is None or self.rate is None or self.tax_free_rate is None:
            return self.amount
        return min(self.amount, round2(self.quantity * min(self.rate, self.tax_free_rate)))

    @property
    def taxable_amount(self) -> Decimal:
        return self.amount - self.tax_free_amount

    @property
    def excess_rate(self) -> Decimal:
        """How much the rate paid per km exceeds the tax-free rate (0 when it does not)."""
        if self.rate is None or self.tax_free_rate is None:
            return ZERO
        return max(ZERO, self.rate - self.tax_free_rate)

    def external_import_reference(self, export_id: str) -> str:
        """Deterministic and unique per export and line: a retried POST can never create a second line."""
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:12]
        return f"{reference_prefix(export_id)}{digest}"

    def comment(self) -> str:
        """Printed on the payslip: Norwegian numbers, the line's own trip dates and its number of trips."""
        labels = ", ".join(category.label_no for category in self.categories)
        if self.kind == TAXABLE_EXCESS:
            labels += ", skattepliktig del"
        elif self.paid_rate is not None:
            labels += ", trekkfri del"
        first, last = self.first_date or self.period.start, self.last_date or self.period.end
        dates = f"{first:%d.%m.%Y}" if first == last else f"{first:%d.%m.%Y}-{last:%d.%m.%Y}"
        trips = f"{self.trip_count} {'tur' if self.trip_count == 1 else 'turer'}"
        if self.quantity is not None and self.rate is not None:
            unit = "passasjer-km" if self.categories == (Category.PASSENGER,) else "km"
            text = f"ABAX {labels} {dates}: {nok(self.quantity)} {unit} à {nok(self.rate)}"
            if self.paid_rate is not None and self.tax_free_rate is not None:
                if self.kind == TAXABLE_EXCESS:
                    text += f" ({nok(self.paid_rate)} - {nok(self.tax_free_rate)} trekkfritt)"
                else:
                    text += f" (av {nok(self.paid_rate)})"
            return f"{text}, {trips}"
        return f"ABAX {labels} {dates}: {nok(self.amount)} kr, {trips}"

    def post_fields(self, pay_item: PayItem) -> dict[str, Decimal]:
        """Quantity, Rate and/or Amount, as the pay item's ProcessingType wants them.

        A Rate goes with every quantity: on a `QuantityAndFixedRate` pay item it overrides the pay item's own
        rate, so Go pays what the preview showed.
        """
        fields: dict[str, Decimal] = {}
        if pay_item.sends_quantity and self.quantity is not None:
            fields["Quantity"] = self.quantity
            if pay_item.sends_rate and self.rate is not None:
                fields["Rate"] = self.rate
        elif pay_item.sends_amount:
            fields["Amount"] = self.amount
        return fields

    def to_dict(self) -> dict[str, Any]:
        def opt(value: Decimal | None) -> str | None:
            return fmt2(value) if value is not None else None

        return {
            "employee_number": self.employee_number,
            "employee_name": self.employee_name,
            "categories": [category.value for category in self.categories],
            "pay_item_code": self.pay_item_code,
            "quantity": opt(self.quantity),
            "rate": opt(self.rate),
            "amount": fmt2(self.amount),
            "trip_count": self.trip_count,
            "first_date": self.first_date.isoformat() if self.first_date else None,
            "last_date": self.last_date.isoformat() if self.last_date else None,
            "kind": self.kind,
            "tax_free_rate": opt(self.tax_free_rate),
            "tax_free_amount": fmt2(self.tax_free_amount),
            "taxable_amount": fmt2(self.taxable_amount),
            "paid_rate": opt(self.paid_rate),
            "split_from": self.split_from,
            "pay_item_rate": opt(self.pay_item_rate),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], period: Period) -> SalaryLineDraft:
        def opt(name: str) -> Decimal | None:
            return Decimal(data[name]) if data.get(name) is not None else None

        def day(name: str) -> date | None:
            return date.fromisoformat(data[name]) if data.get(name) else None

        return cls(
            employee_number=data["employee_number"],
            employee_name=data["employee_name"],
            pay_item_code=data["pay_item_code"],
            categories=tuple(Category(value) for value in data["categories"]),
            quantity=opt("quantity"),
            rate=opt("rate"),
            amount=Decimal(data["amount"]),
            trip_count=int(data["trip_count"]),
            period=period,
            first_date=day("first_date"),
            last_date=day("last_date"),
            tax_free_rate=opt("tax_free_rate"),
            kind=data.get("kind") or ALLOWANCE,
            paid_rate=opt("paid_rate"),
            split_from=data.get("split_from"),
            warnings=tuple(data.get("warnings") or ()),
            pay_item_rate=opt("pay_item_rate"),
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
    first_date: date | None = None
    last_date: date | None = None
    passengers_unnamed: bool = False

    def add(self, trip: Trip, category: Category, quantity: Decimal) -> None:
        self.categories.add(category)
        self.trip_ids.add(trip.trip_id)
        day = trip.date
        self.first_date = day if self.first_date is None or day < self.first_date else self.first_date
        self.last_date = day if self.last_date is None or day > self.last_date else self.last_date
        if category is Category.PASSENGER and trip.passengers_unnamed:
            self.passengers_unnamed = True
        if category.is_distance:
            self.quantity += quantity
        else:
            self.amount += quantity


MissingRates = dict[tuple[str, Category], set[date]]  # (table, category) -> the dates without a rate


def group_lines(
    logbooks: Iterable[Logbook],
    codes: Mapping[Category, str | None],
    rates: RateTable,
    period: Period,
    employee_names: Mapping[str, str] | None = None,
    tax_free: RateTable | None = None,
    missing: MissingRates | None = None,
) -> list[SalaryLineDraft]:
    """Sum trips exactly per (employee, pay item, rate, tax-free rate), round half-up once at the end.

    The tax-free rate is the trip's own (domain.taxfree): 0 for an undocumented trip or unnamed passengers, so
    their allowance goes on a line of its own whose whole amount is taxable.

    Categories without a code and drivers without an employee number are skipped here:
    validation reports them and stops the export before anything is sent. A trip on a date without a rate
    (paid or tax-free) is left out and its date noted in `missing` (RATE_MISSING); without `missing`,
    RateMissing is raised.
    """
    tax_free_rates = tax_free if tax_free is not None else RateTable.default_tax_free()
    groups: dict[tuple[str, str, Decimal | None, Decimal | None], _Accumulator] = {}
    names = employee_names or {}
    for logbook in logbooks:
        number = logbook.driver.employee_number
        if not number:
            continue
        name = names.get(number, logbook.driver.name)
        for trip in logbook.trips:
            for category, quantity in trip.quantities(rates.per_passenger).items():
                code = codes.get(category)
                if not code:
                    continue
                rate: Decimal | None = None
                free: Decimal | None = None
                if category.is_distance:
                    found = rates.find(category, trip.date), tax_free_rates.find(category, trip.date)
                    if found[0] is None or found[1] is None:
                        for table, entry in zip(("paid", "tax_free"), found, strict=True):
                            if entry is None:
                                if missing is None:
                                    raise RateMissing(category, trip.date, table)
                                missing.setdefault((table, category), set()).add(trip.date)
                        continue
                    rate = found[0].rate
                    free = tax_free_rate(trip, category, found[1].rate, rates.per_passenger)
                group = groups.get((number, code, rate, free))
                if group is None:
                    group = groups[(number, code, rate, free)] = _Accumulator(employee_name=name)
                group.add(trip, category, quantity)
    lines = []
    for (number, code, rate, free), group in groups.items():
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
                first_date=group.first_date,
                last_date=group.last_date,
                tax_free_rate=free,
                warnings=(PASSENGER_NAMES_MISSING,) if group.passengers_unnamed else (),
                trip_ids=tuple(sorted(group.trip_ids)),
            )
        )
    return sorted(lines, key=_line_order)


def _line_order(line: SalaryLineDraft) -> tuple[Any, ...]:
    number = line.employee_number
    return (
        int(number) if number.isdigit() else 10**18,
        number,
        line.pay_item_code,
        line.rate or ZERO,
        line.first_date or date.min,
        line.kind,
    )
