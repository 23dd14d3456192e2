"""The documentation report in parts (issue 16: 5,000 drivers are some 300,000 rows; Lambda answers 6 MB).

Each part is answered alone: its JSON and its CSV stay well under 6 MB whatever ABAX sends, and the CSV parts
joined in order are exactly the CSV of the whole report (one header, one sum row per employee and month even
when the month runs over a part's end).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from abax_payroll.domain.documentation import REPORT_PART_ROWS, TEXT_LIMIT, report_csv, report_parts

LAMBDA_LIMIT = 6 * 1024 * 1024


def _row(employee: int, month: str, day: int, trip: int, *, text: str = "Kundebesøk", passengers: int = 0):
    amount = Decimal(trip % 97) + Decimal("0.35")
    free = min(amount, Decimal("40.10"))
    return {
        "employee_number": str(employee),
        "employee_name": f"Ansatt {employee}",
        "month": month,
        "date": f"{month}-{day:02d}",
        "trip_id": f"trip-{employee}-{trip}",
        "purpose": text,
        "from": text,
        "to": text,
        "km": "12.40",
        "category": "passenger" if passengers else "mileage",
        "quantity": "12.4",
        "unit": "passenger-km" if passengers else "km",
        "passengers": [f"Passasjer {n} {text[:60]}" for n in range(passengers)],
        "rate": "5.30",
        "amount": f"{amount:.2f}",
        "tax_free_amount": f"{free:.2f}",
        "taxable_amount": f"{amount - free:.2f}",
        "lines": [employee % 3, 3],
    }


def _report(employees: int, trips: int, **kwargs) -> list[dict]:
    return [
        _row(employee, month, 1 + trip % 28, trip, **kwargs)
        for employee in range(1001, 1001 + employees)
        for month in ("2026-09", "2026-10")
        for trip in range(trips)
    ]


LINES = [{"pay_item_code": f"71{i}", "salary_line_id": 9000 + i, "ref": f"ABAX-x-{i}"} for i in range(4)]


def _joined_csv(rows: list[dict], max_rows: int) -> tuple[str, int]:
    parts = report_parts(rows, max_rows)
    text = "".join(
        report_csv(part["rows"], LINES, first=index == 0, carry=part["carry"], continued=part["continued"])
        for index, part in enumerate(parts)
    )
    return text, len(parts)


@pytest.mark.parametrize("max_rows", [1, 2, 5, 7, 13, 40, 1000])
def test_the_csv_parts_joined_are_the_whole_reports_csv(max_rows: int) -> None:
    rows = _report(employees=3, trips=13)  # 78 rows, each employee's month 13 rows: months run over parts
    whole = report_csv(rows, LINES)
    joined, parts = _joined_csv(rows, max_rows)
    assert parts == -(-len(rows) // max_rows)
    assert joined == whole
    assert joined.count("\ufeff") == 1 and joined.count("Ansattnummer;") == 1
    months = joined.count(";Sum september 2026;") + joined.count(";Sum oktober 2026;")
    assert months == 6  # one per employee and month
    assert (
        sum(
            1
            for line in joined.split("\r\n")
            if line.split(";")[4:5] and line.split(";")[4].startswith("trip-")
        )
        == 78
    )


def test_an_empty_report_is_one_part_with_the_header() -> None:
    parts = report_parts([])
    assert parts == [{"rows": [], "carry": None, "continued": False}]
    assert report_csv([], LINES).startswith("\ufeffAnsattnummer;")


def _lambda_answer_bytes(rows: list[dict]) -> tuple[int, int]:
    """What a part costs as the JSON answer (salary lines spelled out) and as CSV, as Lambda counts its result
    (the body is a string inside the result's JSON, so its quotes are escaped)."""
    answer = {
        "export_id": "20261101T000000000Z-00000000",
        "part": 0,
        "parts": 1,
        "rows": [
            {key: value for key, value in row.items() if key != "lines"}
            | {
                "salary_lines": [
                    {
                        "pay_item_code": "716",
                        "salary_line_id": 123456789,
                        "external_import_reference": "x" * 60,
                    }
                    for _ in row["lines"]
                ]
            }
            for row in rows
        ],
    }
    as_json = len(json.dumps({"statusCode": 200, "body": json.dumps(answer)}))
    as_csv = len(json.dumps({"statusCode": 200, "body": report_csv(rows, LINES)}))
    return as_json, as_csv


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # an ordinary trip
        {"text": "Æøå" * (TEXT_LIMIT // 3 + 1), "passengers": 4},  # the longest texts, non-ASCII, passengers
    ],
)
def test_a_part_stays_well_under_lambdas_6_mb_as_json_and_as_csv(kwargs) -> None:
    rows = _report(employees=40, trips=2 * REPORT_PART_ROWS // 40, **kwargs)
    parts = report_parts(rows)
    assert len(parts) >= 2
    assert sum(len(part["rows"]) for part in parts) == len(rows)
    for part in parts:
        assert len(part["rows"]) <= REPORT_PART_ROWS
        as_json, as_csv = _lambda_answer_bytes(part["rows"])
        assert as_json < LAMBDA_LIMIT * 0.8, as_json
        assert as_csv < LAMBDA_LIMIT * 0.8, as_csv
