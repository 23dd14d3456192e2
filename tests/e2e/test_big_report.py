"""The documentation report of a big company, answered in parts (issue 16): 12,000 trips are some 7 MB of
report, past what one Lambda answers (6 MB; the whole report was a 413 RESPONSE_TOO_LARGE). Each part is
answered alone, says how many there are, and the CSV parts joined in order are the whole report's CSV.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import httpx

from local.stack import LocalStack
from tests.e2e.test_big_lists import AUGUST, _trip, fast_abax  # noqa: F401 - the fixture
from tests.support import export_and_wait

TRIPS = 12_000


def test_a_report_past_6_mb_is_read_part_by_part_and_its_csv_has_every_trip(
    fresh: LocalStack,
    acme: httpx.Client,
    fast_abax: None,  # noqa: F811
) -> None:
    drivers = [
        {"id": "d-1001", "external_id": "1001", "name": "Ola Nordmann"},
        {"id": "d-1002", "external_id": "1002", "name": "Kari Hansen"},
        {"id": "d-1003", "external_id": "1003", "name": "Per Olsen"},
    ]
    trips = [_trip(n, drivers[n % 3], 1 + (n // 3) % 28, 12.5) for n in range(TRIPS)]
    fresh.abax.add_data("acme", trips, [])
    record = export_and_wait(acme, AUGUST)
    assert record["status"] == "COMPLETED", record.get("error")
    export_id = record["export_id"]

    # The printable report, part by part: every trip once, in employee order, each with its salary line.
    first = acme.get(f"/exports/{export_id}/report")
    assert first.status_code == 200, first.text[:300]
    parts = first.json()["parts"]
    assert parts >= 2
    rows, sizes = [], []
    for part in range(parts):
        response = acme.get(f"/exports/{export_id}/report", params={"part": part})
        assert response.status_code == 200, response.text[:300]
        answer = response.json()
        assert (answer["part"], answer["parts"]) == (part, parts)
        rows += answer["rows"]
        sizes.append(len(response.content))
    assert sum(sizes) > 6 * 1024 * 1024  # the whole report would not fit one answer
    assert sorted(row["trip_id"] for row in rows) == sorted(trip["id"] for trip in trips)
    assert [row["employee_number"] for row in rows] == sorted(row["employee_number"] for row in rows)
    assert all(row["salary_lines"] for row in rows)

    # The CSV, as the web app saves it: the parts joined in order, one header, every trip, one sum per employee.
    text = ""
    for part in range(parts):
        response = acme.get(f"/exports/{export_id}/report.csv", params={"part": part})
        assert response.status_code == 200, response.text[:300]
        assert response.headers["X-Report-Parts"] == str(parts)
        assert response.text.startswith("\ufeffFirma;") == (part == 0)  # the header, then the columns
        assert ("Ansattnummer;" in response.text) == (part == 0)
        text += response.text
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    table = lines[next(at for at, row in enumerate(lines) if row[:1] == ["Ansattnummer"]) :]
    assert table[0][0] == "Ansattnummer" and sum(1 for row in table if row[:1] == ["Ansattnummer"]) == 1
    column = {name: at for at, name in enumerate(table[0])}
    trip_rows = [row for row in table[1:] if row[column["Tur"]]]
    assert sorted(row[column["Tur"]] for row in trip_rows) == sorted(trip["id"] for trip in trips)
    sums = [row for row in table[1:] if row[column["Kategori"]].startswith("Sum ")]
    assert [row[0] for row in sums] == ["1001", "1002", "1003"]
    amount = column["Beløp"]
    assert sum(Decimal(row[amount].replace(",", ".")) for row in sums) == sum(
        Decimal(row[amount].replace(",", ".")) for row in trip_rows
    )

    # Past the last part: a 404 that says how many there are.
    beyond = acme.get(f"/exports/{export_id}/report.csv", params={"part": parts})
    assert beyond.status_code == 404 and f"{parts} part(s)" in beyond.json()["detail"]
    assert acme.get(f"/exports/{export_id}/report", params={"part": -1}).status_code in (400, 422)
