"""The documentation the employer keeps per export (skattebetalingsforskriften § 5-6-12): the proof of what was
paid tax-free.

One row per trip: date, departure and arrival time (Oslo), start and end address, purpose, notes (who was
visited), vehicle, driver and employee number, km, passengers' names, supplement km, the amount with its tax-free
and taxable part, and the salary line(s) it went into; one row per outlay (toll, parking, ferry) beside it, with
no km, so summing the km column never counts a trip twice. A row's amount is its own quantities × rates rounded
half-up per category; a line rounds once over its summed quantity, so the rows of a line may differ from the
line's amount by an øre or two (the line is what was paid).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .categories import Category
from .lines import SalaryLineDraft, nok
from .logbooks import Logbook
from .money import ZERO, fmt2, round2
from .rates import RateTable
from .report_limits import REPORT_PART_BYTES, REPORT_PART_ROWS
from .taxfree import tax_free_rate
from .trips import OSLO

TEXT_LIMIT = 200  # purpose, notes and addresses, so one trip's row stays small whatever ABAX sends
TRIP_ROW = "trip"  # a row's `kind`: the trip's km and supplements; else the outlay category it refunds


def _origin(line: SalaryLineDraft) -> tuple[str, str, Decimal | None, Decimal | None]:
    """The grouping a line came from: a split line's parts share the pay item and rate they were split from."""
    return (
        line.employee_number,
        line.split_from or line.pay_item_code,
        line.paid_rate if line.paid_rate is not None else line.rate,
        line.tax_free_rate,
    )


def _clock(moment: datetime | None) -> str:
    return moment.astimezone(OSLO).strftime("%H:%M") if moment is not None else ""


def documentation_rows(
    logbooks: Iterable[Logbook],
    lines: Sequence[SalaryLineDraft],
    codes: Mapping[Category, str | None],
    rates: RateTable,
    tax_free: RateTable,
    employee_names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per trip (its km and supplements) and per outlay, in employee, month, date order; `lines` index
    the salary lines each row went into."""
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
            facts = {
                "employee_number": number,
                "employee_name": names.get(number, logbook.driver.name),
                "month": trip.month,
                "date": trip.date.isoformat(),
                "departure": _clock(trip.started_at),
                "arrival": _clock(trip.ended_at),
                "trip_id": trip.trip_id,
                "purpose": trip.purpose[:TEXT_LIMIT],
                "notes": trip.notes[:TEXT_LIMIT],
                "from": trip.start_address[:TEXT_LIMIT],
                "to": trip.end_address[:TEXT_LIMIT],
                "vehicle": trip.vehicle_alias[:TEXT_LIMIT],
            }
            paid: dict[Category, tuple[Decimal, Decimal, Decimal, Decimal, Decimal]] = {}
            outlays: list[tuple[Category, Decimal]] = []
            trip_lines: list[int] = []
            for category, quantity in trip.quantities(rates.per_passenger).items():
                code = codes.get(category)
                if not code:
                    continue
                if not category.is_distance:
                    outlays.append((category, quantity))
                    continue
                rate = rates.rate_for(category, trip.date)
                free = tax_free_rate(
                    trip, category, tax_free.rate_for(category, trip.date), rates.per_passenger
                )
                amount = round2(quantity * rate)
                paid[category] = (
                    quantity,
                    rate,
                    free,
                    amount,
                    min(amount, round2(quantity * min(rate, free))),
                )
                trip_lines += by_origin.get((number, code, rate, free), [])
            if paid:
                amount = sum((entry[3] for entry in paid.values()), ZERO)
                free_amount = sum((entry[4] for entry in paid.values()), ZERO)
                mileage = paid.get(Category.MILEAGE)
                rows.append(
                    {
                        **facts,
                        "kind": TRIP_ROW,
                        "category": next(iter(paid)).value,
                        "categories": [category.value for category in paid],
                        "km": fmt2(trip.distance_km),
                        "quantity": str(trip.distance_km),
                        "unit": "km",
                        "passengers": list(trip.extras.passenger_names),
                        "supplement_km": {
                            category.value: fmt2(entry[0])
                            for category, entry in paid.items()
                            if category is not Category.MILEAGE
                        },
                        "rate": fmt2(mileage[1]) if mileage else None,
                        "amount": fmt2(amount),
                        "tax_free_amount": fmt2(free_amount),
                        "taxable_amount": fmt2(amount - free_amount),
                        "lines": sorted(set(trip_lines)),
                    }
                )
            for category, quantity in outlays:
                code = codes[category]
                rows.append(
                    {
                        **facts,
                        "kind": category.value,
                        "category": category.value,
                        "categories": [category.value],
                        "km": None,  # the trip's km are on its own row
                        "quantity": str(quantity),
                        "unit": category.unit,
                        "passengers": [],
                        "supplement_km": {},
                        "rate": None,
                        "amount": fmt2(round2(quantity)),
                        "tax_free_amount": fmt2(round2(quantity)),
                        "taxable_amount": "0.00",
                        "lines": by_origin.get((number, code or "", None, None), []),
                    }
                )
    order = list(Category)
    rows.sort(
        key=lambda row: (
            int(row["employee_number"]) if row["employee_number"].isdigit() else 10**18,
            row["employee_number"],
            row["month"],
            row["date"],
            row["departure"],
            row["trip_id"],
            order.index(Category(row["category"])) if row["kind"] != TRIP_ROW else -1,
        )
    )
    return rows


CSV_COLUMNS = (
    "Ansattnummer", "Navn", "Måned", "Dato", "Tur", "Avreise", "Ankomst", "Fra", "Til", "Formål", "Notater",
    "Kjøretøy", "Kategori", "Kjørt km", "Passasjerer", "Tillegg km", "Sats", "Beløp", "Trekkfritt", "Skattepliktig",
    "Lønnsart", "Lønnslinje (PowerOffice)", "Referanse",
)  # fmt: skip
MONTHS_NO = (
    "januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober", "november",
    "desember",
)  # fmt: skip
SUPPLEMENT_LABELS_NO = {
    Category.PASSENGER.value: "passasjer-km",
    Category.TRAILER.value: "tilhenger",
    Category.FOREST_ROAD.value: "skogsvei",
    Category.HEAVY_LOAD.value: "tungt utstyr",
}


def month_no(month: str) -> str:
    """ "2026-10" as Norwegian spreadsheets keep it as text, not a date: "oktober 2026"."""
    year, number = month.split("-")
    return f"{MONTHS_NO[int(number) - 1]} {year}"


def _decimal_no(value: str | None) -> str:
    """Norwegian decimals for a spreadsheet: 1234,50 (a decimal comma, no thousands separator)."""
    return "" if value is None else value.replace(".", ",")


def _cell(value: Any) -> str:
    """Every cell, whatever column: text from ABAX (or anywhere) can never become a spreadsheet formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _day(value: str) -> str:
    return f"{date.fromisoformat(value):%d.%m.%Y}"


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


def report_header(
    company: str | None, period: Mapping[str, str], export_id: str, status: str, note: str | None = None
) -> list[tuple[str, str]]:
    """What the report is the proof of, above its columns: company, period, export and status."""
    header = [
        ("Firma", company or ""),
        ("Periode", f"{_day(period['from'])}–{_day(period['to'])}"),
        ("Eksport", export_id),
        ("Status", status),
    ]
    return header + ([("Merk", note)] if note else [])


def report_csv(
    rows: Sequence[Mapping[str, Any]],
    lines: Sequence[Mapping[str, Any]] | Mapping[int, Mapping[str, Any]],
    *,
    first: bool = True,
    carry: Mapping[str, str] | None = None,
    continued: bool = False,
    header: Sequence[tuple[str, str]] = (),
) -> str:
    """UTF-8 with BOM, `;`-separated, Norwegian decimals and dates: as Norwegian spreadsheets open it.

    The `first` part begins with the BOM, the `header` (company, period, export, status) and the column names.
    After each employee's month a sum row: amount, tax-free and taxable part. A part of a report (see
    `report_parts`): `carry` sums the first employee's month from the parts before; when `continued` the last
    month's sum row comes in the next part. Every cell is formula-safe.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")

    def write(values: Mapping[str, Any]) -> None:
        writer.writerow([_cell(values.get(column)) for column in CSV_COLUMNS])

    if first:
        out.write("\ufeff")
        for name, value in header:
            writer.writerow([_cell(name), _cell(value)])
        if header:
            writer.writerow([])
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
            write(
                {
                    "Ansattnummer": group[0],
                    "Navn": name,
                    "Måned": month_no(group[1]),
                    "Kategori": f"Sum {month_no(group[1])}",
                    **dict(
                        zip(
                            ("Beløp", "Trekkfritt", "Skattepliktig"),
                            (nok(v).replace(" ", "") for v in sums),
                            strict=True,
                        )
                    ),
                }
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
        categories = row.get("categories") or [row["category"]]
        supplements = row.get("supplement_km") or {}
        write(
            {
                "Ansattnummer": row["employee_number"],
                "Navn": row["employee_name"],
                "Måned": month_no(row["month"]),
                "Dato": _day(row["date"]),
                "Tur": row["trip_id"],
                "Avreise": row.get("departure", ""),
                "Ankomst": row.get("arrival", ""),
                "Fra": row["from"],
                "Til": row["to"],
                "Formål": row["purpose"],
                "Notater": row.get("notes", ""),
                "Kjøretøy": row.get("vehicle", ""),
                "Kategori": ", ".join(Category(category).label_no for category in categories),
                "Kjørt km": _decimal_no(row.get("km")),
                "Passasjerer": ", ".join(row["passengers"]),
                "Tillegg km": "; ".join(
                    f"{SUPPLEMENT_LABELS_NO.get(category, category)} {_decimal_no(km)}"
                    for category, km in supplements.items()
                ),
                "Sats": _decimal_no(row["rate"]),
                "Beløp": _decimal_no(row["amount"]),
                "Trekkfritt": _decimal_no(row["tax_free_amount"]),
                "Skattepliktig": _decimal_no(row["taxable_amount"]),
                "Lønnsart": " + ".join(str(line["pay_item_code"]) for line in paid_in),
                "Lønnslinje (PowerOffice)": " + ".join(
                    str(line.get("salary_line_id") or "") for line in paid_in
                ),
                "Referanse": " + ".join(str(line["ref"]) for line in paid_in),
            }
        )
    if not continued:
        sum_row()
    return out.getvalue()
