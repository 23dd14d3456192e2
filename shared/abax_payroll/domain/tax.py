"""Tax on km allowance: what is paid above the tax-free rate is salary, and Go must withhold tax on it.

Skatteetaten: of the allowance for the own car, 3.50 per km (2024-2026) is tax-free ("trekkfri"); the part
above it is taxable salary (withholding tax and employer's contribution). The state supplements are tax-free.
A km line whose rate exceeds its tax-free rate is accepted when its pay item splits it itself (PowerOffice's
`QuantityAndRateSubjectToWithholdingTax`, linked to the pay item that withholds the taxable part), or, when the
company maps a pay item for the taxable excess, as two lines: km × tax-free rate on the km pay item and
km × the excess on the taxable one. Otherwise the export is blocked (TAXABLE_EXCESS_NOT_HANDLED).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from . import problems as codes_
from .lines import TAXABLE_EXCESS, SalaryLineDraft, _line_order
from .money import ZERO, fmt2, round2
from .payroll import FIXED_RATE, PayItem
from .problems import Problem


def apply_tax_rules(
    lines: Iterable[SalaryLineDraft], pay_items: Mapping[str, PayItem], taxable_excess_code: str | None
) -> tuple[list[SalaryLineDraft], list[Problem]]:
    """The lines as they are sent (a line above the tax-free rate split in two when so configured)."""
    sent: list[SalaryLineDraft] = []
    unhandled: dict[str, dict[str, Any]] = {}
    for line in lines:
        pay_item = pay_items.get(line.pay_item_code)
        if (
            line.quantity is None
            or not line.excess_rate
            or pay_item is None  # PAY_ITEM_NOT_FOUND says so
            or not all(pay_item.accepts(category) for category in line.categories)  # PAY_ITEM_INCOMPATIBLE
            # Go's own split counts the state's tax-free rate as tax-free: right for a documented trip, wrong
            # for one whose allowance is wholly taxable (domain.taxfree), which needs the taxable-excess pay item.
            or (pay_item.withholds_taxable_part and line.tax_free_rate)
        ):
            sent.append(line)
            continue
        if taxable_excess_code:
            assert line.tax_free_rate is not None and line.rate is not None
            excess = line.rate - line.tax_free_rate
            if line.tax_free_rate:  # a wholly taxable line has no tax-free part to send
                sent.append(
                    replace(
                        line,
                        rate=line.tax_free_rate,
                        amount=round2(line.quantity * line.tax_free_rate),
                        paid_rate=line.rate,
                    )
                )
            sent.append(
                replace(
                    line,
                    pay_item_code=taxable_excess_code,
                    rate=excess,
                    amount=round2(line.quantity * excess),
                    kind=TAXABLE_EXCESS,
                    paid_rate=line.rate,
                    split_from=line.pay_item_code,
                    warnings=(),
                )
            )
            continue
        sent.append(line)
        entry = unhandled.setdefault(
            line.pay_item_code,
            {
                "code": line.pay_item_code,
                "processing_type": pay_item.processing_type,
                "categories": set(),
                "rates": set(),
                "tax_free_rates": set(),
                "employees": set(),
                "taxable_amount": ZERO,
            },
        )
        entry["categories"].update(category.value for category in line.categories)
        entry["rates"].add(fmt2(line.rate))  # type: ignore[arg-type]
        entry["tax_free_rates"].add(fmt2(line.tax_free_rate))  # type: ignore[arg-type]
        entry["employees"].add(line.employee_number)
        entry["taxable_amount"] += line.taxable_amount
    problems = []
    if unhandled:
        items = [
            {
                "code": entry["code"],
                "processing_type": entry["processing_type"],
                "categories": sorted(entry["categories"]),
                "rates": sorted(entry["rates"]),
                "tax_free_rates": sorted(entry["tax_free_rates"]),
                "employees": sorted(entry["employees"]),
                "taxable_amount": fmt2(entry["taxable_amount"]),
                "fix": "map a pay item for the taxable excess in the payroll codes: the allowance of trips without "
                f"documentation is wholly taxable, which pay item {entry['code']}'s own split does not know"
                if pay_item_withholds(pay_items, entry["code"])
                else f"set pay item {entry['code']} to processing type QuantityAndRateSubjectToWithholdingTax in "
                "PowerOffice Go, or map a pay item for the taxable excess in the payroll codes",
            }
            for entry in unhandled.values()
        ]
        listed = ", ".join(
            f"{item['code']} ({item['processing_type']}, {'/'.join(item['rates'])} per km above the tax-free "
            f"{'/'.join(item['tax_free_rates'])})"
            for item in items
        )
        problems.append(
            Problem(
                codes_.TAXABLE_EXCESS_NOT_HANDLED,
                f"The km allowance on pay item {listed} is partly taxable, and nothing withholds tax on the part above "
                "the tax-free rate. Set the pay item to processing type QuantityAndRateSubjectToWithholdingTax in "
                "PowerOffice Go, or map a pay item for the taxable excess in the payroll codes.",
                items,
                params={"codes": [item["code"] for item in items]},
            )
        )
    return sorted(sent, key=_line_order), problems


def pay_item_withholds(pay_items: Mapping[str, PayItem], code: str) -> bool:
    pay_item = pay_items.get(code)
    return pay_item is not None and pay_item.withholds_taxable_part


def note_pay_item_rates(
    lines: Iterable[SalaryLineDraft], pay_items: Mapping[str, PayItem]
) -> tuple[list[SalaryLineDraft], list[Problem]]:
    """Where a fixed-rate pay item's own rate differs from the rate sent: the line's Rate overrides it; say so."""
    noted: list[SalaryLineDraft] = []
    differing: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        pay_item = pay_items.get(line.pay_item_code)
        if (
            pay_item is None
            or not pay_item.processing_type.startswith(FIXED_RATE)
            or pay_item.rate is None
            or line.rate is None
            or pay_item.rate == line.rate
        ):
            noted.append(line)
            continue
        noted.append(replace(line, pay_item_rate=pay_item.rate))
        entry = differing.setdefault(
            (line.pay_item_code, fmt2(line.rate)),
            {
                "code": line.pay_item_code,
                "pay_item_rate": fmt2(pay_item.rate),
                "rate": fmt2(line.rate),
                "employees": set(),
            },
        )
        entry["employees"].add(line.employee_number)
    if not differing:
        return noted, []
    items = [{**entry, "employees": sorted(entry["employees"])} for entry in differing.values()]
    listed = "; ".join(
        f"pay item {item['code']} has {item['pay_item_rate']}, the line sends {item['rate']}"
        for item in items
    )
    return noted, [
        Problem(
            codes_.PAY_ITEM_RATE_OVERRIDDEN,
            f"A fixed-rate pay item's own rate differs from the rate table: {listed}. The line's Rate overrides the "
            "pay item's, so Go pays the rate shown here.",
            items,
            severity=codes_.WARNING,
        )
    ]
