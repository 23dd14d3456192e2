"""A documentation report in several parts (issue 16: a big company's report is read part by part): the web app
saves ONE CSV, every part joined in order, and the printable view shows one part at a time with next/previous.
The part size is set small (REPORT_PART_ROWS) so a few dozen trips make three parts."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from abax_payroll.workflow.services import reset_services
from tests.support import export_and_wait

from .helpers import login, set_up_company

AUGUST = {"from": "2026-08-01", "to": "2026-08-31"}
TRIPS = 30
DRIVERS = [
    {"id": "d-1001", "external_id": "1001", "name": "Ola Nordmann"},
    {"id": "d-1002", "external_id": "1002", "name": "Kari Hansen"},
    {"id": "d-1003", "external_id": "1003", "name": "Per Olsen"},
]


@pytest.fixture
def small_parts(fresh: Any) -> Iterator[None]:
    saved = os.environ.get("REPORT_PART_ROWS")
    os.environ["REPORT_PART_ROWS"] = "12"
    reset_services()
    yield
    if saved is None:
        os.environ.pop("REPORT_PART_ROWS", None)
    else:
        os.environ["REPORT_PART_ROWS"] = saved
    reset_services()


def _trip(n: int) -> dict[str, Any]:
    at = f"2026-08-{1 + n // 3:02d}T08:{n % 60:02d}:00Z"
    return {
        "id": f"trip-{n:03d}",
        "vehicle": {"id": f"veh-{n % 3}", "alias": "Egen bil", "commercial_class": "Private"},
        "driver": DRIVERS[n % 3],
        "start": {"location": {"latitude": 59.9, "longitude": 10.7, "timestamp": at}, "address": "Oslo"},
        "finish": {
            "location": {"latitude": 59.7, "longitude": 10.2, "timestamp": at},
            "address": f"Kunde {n:03d}",
        },
        "distance": 41.3,
        "purpose": "Kundebesøk",
        "commercial_class": "BusinessTrip",
    }


def test_the_csv_of_a_report_in_parts_is_one_file_and_the_printable_view_pages(
    page: Page, fresh: Any, small_parts: None, shot
) -> None:
    client = set_up_company(fresh, "acme", "acme-demo-client-key-7f3a")
    fresh.abax.add_data("acme", [_trip(n) for n in range(TRIPS)], [])
    record = export_and_wait(client, AUGUST, None)
    assert record["status"] == "COMPLETED", record.get("error")
    export_id = record["export_id"]
    whole = "".join(
        client.get(f"/exports/{export_id}/report.csv", params={"part": part}).text for part in range(3)
    )

    login(page, "acme", "payroll")
    page.goto(f"{page.base_url}/#/exports/{export_id}")  # type: ignore[attr-defined]
    with page.expect_download() as downloading:
        page.get_by_test_id("report-csv").click()
    download = downloading.value
    assert download.suggested_filename == f"kjoregodtgjorelse-{export_id}.csv"
    with open(download.path(), "rb") as saved:
        text = saved.read().decode()
    assert text == whole and text.startswith(
        "\ufeffFirma;"
    )  # with the BOM spreadsheets need, then the header
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert sum(1 for row in lines if row[:1] == ["Ansattnummer"]) == 1
    table = lines[next(at for at, row in enumerate(lines) if row[:1] == ["Ansattnummer"]) :]
    column = {name: at for at, name in enumerate(table[0])}
    assert sorted(row[4] for row in table[1:] if row[4]) == [f"trip-{n:03d}" for n in range(TRIPS)]
    assert [row[0] for row in table[1:] if row[column["Kategori"]].startswith("Sum ")] == [
        "1001",
        "1002",
        "1003",
    ]

    page.get_by_test_id("report-print").click()
    expect(page.get_by_test_id("report-part").first).to_have_text("Del 1 av 3")
    expect(page.get_by_test_id("report-previous").first).to_be_disabled()
    expect(page.get_by_test_id("report-group").first).to_contain_text("Ola Nordmann (1001)")
    shot("dokumentasjon del 1")
    page.get_by_test_id("report-next").first.click()
    expect(page.get_by_test_id("report-part").first).to_have_text("Del 2 av 3")
    expect(page.get_by_test_id("report-group").first).to_contain_text("Kari Hansen (1002)")
    page.get_by_test_id("report-next").first.click()
    expect(page.get_by_test_id("report-part").first).to_have_text("Del 3 av 3")
    expect(page.get_by_test_id("report-next").first).to_be_disabled()
    expect(page.get_by_test_id("report-group").first).to_contain_text("Per Olsen (1003)")
    page.get_by_test_id("report-previous").first.click()
    expect(page.get_by_test_id("report-part").first).to_have_text("Del 2 av 3")
