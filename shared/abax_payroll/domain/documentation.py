"""The documentation the employer keeps per export (skattebetalingsforskriften § 5-6-12).

Per employee and month, every trip: date, purpose, from and to, km, each category it was paid in (supplements
with the passengers' names), rate, amount, tax-free and taxable part, and the salary line(s) it went into.
A row's amount is its own quantity × rate rounded half-up; a line rounds once over its summed quantity, so the
rows of a line may differ from the line's amount by an øre or two (the line is what was paid).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from .categories import Category
from .lines import SalaryLineDraft, nok
from .logbooks import Logbook
from .money import ZERO, fmt2, round2
from .rates import RateTable

TEXT_LIMIT = 200  # purpose and addresses, so one trip's row stays small whatever ABAX sends


def _origin(line: SalaryLineDraft) -> tuple[str, str, Decimal | None, Decimal | None]:
    """The grouping a line came from: a split line's parts share the pay item and rate they were split from."""
    return (
        line.employee_number,
        line.split_from or line.pay_item_code,
        line.paid_rate if line.paid_rate is not None else line.rate,
        line.tax_free_rate,
    )


def documentation_rows(
    logbooks: Iterable[Logbook],
    lines: Sequence[SalaryLineDraft],
    codes: Mapping[Category, str | None],
    rates: RateTable,
    tax_free: RateTable,
    employee_names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per trip and category paid, in employee, month, date order; `lines` index the salary lines."""
    by_origin: dict[tuple[str, str, Decimal | None, Decimal | None], list[int]] = {}
    for index, line in enumerate(lines):
        by_origin.setdefault(_origin(line), []).append(index)
    names = employee_names or {}
    rows: list[dict[str, Any]] = []
    for logbook in logbooks:
        number = logbook.driver.employee_number
        if not number:
            continue
        for trip in logbook.trips:
            for category, quantity in trip.quantities().items():
                code = codes.get(category)
                if not code:
                    continue
                rate = free = None
                if category.is_distance:
                    rate = rates.rate_for(category, trip.date)
                    free = tax_free.rate_for(category, trip.date)
                    amount = round2(quantity * rate)
                    tax_free_amount = min(amount, round2(quantity * min(rate, free)))
                else:
                    amount = round2(quantity)
                    tax_free_amount = amount
                rows.append(
                    {
                        "employee_number": number,
                        "employee_name": names.get(number, logbook.driver.name),
                        "month": trip.month,
                        "date": trip.date.isoformat(),
                        "trip_id": trip.trip_id,
                        "purpose": trip.purpose[:TEXT_LIMIT],
                        "from": trip.start_address[:TEXT_LIMIT],
                        "to": trip.end_address[:TEXT_LIMIT],
                        "km": fmt2(trip.distance_km),
                        "category": category.value,
                        "quantity": str(quantity),
                        "unit": category.unit,
                        "passengers": list(trip.extras.passenger_names)
                        if category is Category.PASSENGER
                        else [],
                        "rate": fmt2(rate) if rate is not None else None,
                        "amount": fmt2(amount),
                        "tax_free_amount": fmt2(tax_free_amount),
                        "taxable_amount": fmt2(amount - tax_free_amount),
                        "lines": by_origin.get((number, code, rate, free), []),
                    }
                )
    order = list(Category)
    rows.sort(
        key=lambda row: (
            int(row["employee_number"]) if row["employee_number"].isdigit() else 10**18,
            row["employee_number"],
            row["month"],
            row["date"],
            row["trip_id"],
            order.index(Category(row["category"])),
        )
    )
    return rows


CSV_COLUMNS = (
    "Ansattnummer", "Navn", "Måned", "Dato", "Tur", "Formål", "Fra", "Til", "Kjørt km", "Kategori", "Antall",
    "Enhet", "Passasjerer", "Sats", "Beløp", "Trekkfritt", "Skattepliktig", "Lønnsart", "Lønnslinje (PowerOffice)",
    "Referanse",
)  # fmt: skip
UNITS_NO = {"km": "km", "passenger-km": "passasjer-km", "NOK": "kr"}


def _decimal_no(value: str | None) -> str:
    """Norwegian decimals for a spreadsheet: 1234,50 (a decimal comma, no thousands separator)."""
    return "" if value is None else value.replace(".", ",")


def _text(value: str) -> str:
    """Text from ABAX can never become a spreadsheet formula."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _day(value: str) -> str:
    return f"{date.fromisoformat(value):%d.%m.%Y}"


# A report is kept and answered in parts (issue 16: 5,000 drivers are some 300,000 rows, and Lambda answers at
# most 6 MB): at most `REPORT_PART_ROWS` rows (the setting) and about REPORT_PART_BYTES of answer, so a part's
# JSON and CSV stay well under 6 MB and a part's rows take a few MB of memory whatever ABAX sends.
REPORT_PART_ROWS = 5000
REPORT_PART_BYTES = 3_000_000
LINE_REF_BYTES = 160  # one salary line a row went into, as the JSON answer spells it out


def _row_bytes(row: Mapping[str, Any]) -> int:
    """A row's share of the answer as Lambda counts it: JSON (non-ASCII as \\u escapes) inside the result's
    JSON (each quote and backslash escaped once more)."""
    text = json.dumps(row, default=str)
    return len(text) + text.count('"') + text.count("\\") + LINE_REF_BYTES * len(row.get("lines") or [])


def _group_sums(rows: Sequence[Mapping[str, Any]], key: tuple[str, str]) -> list[Decimal]:
    sums = [ZERO, ZERO, ZERO]
    for row in rows:
        if (row["employee_number"], row["month"]) == key:
            sums = [
                sums[0] + Decimal(row["amount"]),
                sums[1] + Decimal(row["tax_free_amount"]),
                sums[2] + Decimal(row["taxable_amount"]),
            ]
    return sums


def report_parts(
    rows: Sequence[Mapping[str, Any]],
    max_rows: int = REPORT_PART_ROWS,
    max_bytes: int = REPORT_PART_BYTES,
) -> list[dict[str, Any]]:
    """The report cut into parts in order (always at least one): `rows`; `carry`, the sums of the first row's
    employee and month in the parts before (None when it starts in this part); `continued`, whether the last
    row's employee and month goes on in the next part. With them each part's CSV is written alone, and the
    parts' CSVs joined are the CSV of the whole report (one sum row per employee and month)."""
    cuts: list[list[Mapping[str, Any]]] = [[]]
    size = 0
    for row in rows:
        row_size = _row_bytes(row)
        if cuts[-1] and (len(cuts[-1]) >= max_rows or size + row_size > max_bytes):
            cuts.append([])
            size = 0
        cuts[-1].append(row)
        size += row_size
    parts: list[dict[str, Any]] = []
    carry: dict[str, str] | None = None
    for index, part in enumerate(cuts):
        following = cuts[index + 1] if index + 1 < len(cuts) else []
        last = (part[-1]["employee_number"], part[-1]["month"]) if part else None
        continued = bool(following) and last == (following[0]["employee_number"], following[0]["month"])
        parts.append({"rows": list(part), "carry": carry, "continued": continued})
        if continued and last is not None:
            carried = carry is not None and (carry["employee_number"], carry["month"]) == last
            previous = [Decimal(carry[name]) for name in SUMS] if carry and carried else [ZERO, ZERO, ZERO]
            sums = [a + b for a, b in zip(previous, _group_sums(part, last), strict=True)]
            carry = {
                "employee_number": last[0],
                "month": last[1],
                **dict(zip(SUMS, map(fmt2, sums), strict=True)),
            }
        else:
            carry = None
    return parts


SUMS = ("amount", "tax_free_amount", "taxable_amount")


def report_csv(
    rows: Sequence[Mapping[str, Any]],
    lines: Sequence[Mapping[str, Any]] | Mapping[int, Mapping[str, Any]],
    *,
    first: bool = True,
    carry: Mapping[str, str] | None = None,
    continued: bool = False,
) -> str:
    """UTF-8 with BOM, `;`-separated, Norwegian decimals and dates: as Norwegian spreadsheets open it.

    After each employee's month a sum row: amount, tax-free and taxable part. A part of a report (see
    `report_parts`): only the `first` begins with the BOM and the header row; `carry` sums the first employee's
    month from the parts before; when `continued` the last month's sum row comes in the next part.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    if first:
        out.write("\ufeff")
        writer.writerow(CSV_COLUMNS)
    by_index = lines if isinstance(lines, Mapping) else dict(enumerate(lines))  # the lines rows name
    group: tuple[str, str] | None = None
    sums = [ZERO, ZERO, ZERO]
    name = ""
    if (
        carry
        and rows
        and (rows[0]["employee_number"], rows[0]["month"]) == (carry["employee_number"], carry["month"])
    ):
        group, name = (carry["employee_number"], carry["month"]), rows[0]["employee_name"]
        sums = [Decimal(carry[field]) for field in SUMS]

    def sum_row() -> None:
        if group is not None:
            writer.writerow(
                [
                    group[0],
                    name,
                    group[1],
                    "",
                    "",
                    f"Sum {group[1]}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    *(nok(value).replace(" ", "") for value in sums),
                    "",
                    "",
                    "",
                ]  # fmt: skip
            )

    for row in rows:
        key = (row["employee_number"], row["month"])
        if key != group:
            sum_row()
            group, sums, name = key, [ZERO, ZERO, ZERO], row["employee_name"]
        sums = [
            sums[0] + Decimal(row["amount"]),
            sums[1] + Decimal(row["tax_free_amount"]),
            sums[2] + Decimal(row["taxable_amount"]),
        ]
        paid_in = [by_index[index] for index in row["lines"] if index in by_index]
        writer.writerow(
            [
                row["employee_number"],
                _text(row["employee_name"]),
                row["month"],
                _day(row["date"]),
                _text(row["trip_id"]),
                _text(row["purpose"]),
                _text(row["from"]),
                _text(row["to"]),
                _decimal_no(row["km"]),
                Category(row["category"]).label_no,
                _decimal_no(fmt2(Decimal(row["quantity"]))),
                UNITS_NO.get(row["unit"], row["unit"]),
                _text(", ".join(row["passengers"])),
                _decimal_no(row["rate"]),
                _decimal_no(row["amount"]),
                _decimal_no(row["tax_free_amount"]),
                _decimal_no(row["taxable_amount"]),
                " + ".join(str(line["pay_item_code"]) for line in paid_in),
                " + ".join(str(line.get("salary_line_id") or "") for line in paid_in),
                " + ".join(str(line["ref"]) for line in paid_in),
            ]
        )
    if not continued:
        sum_row()
    return out.getvalue()
