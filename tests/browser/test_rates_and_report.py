"""Issue 22 on the screens: rates a clerk can enter (both tables, by year, Norwegian decimals, a typo asked about
with focus on "Endre"), the a-melding description on Lønnsarter, and the printable report that fits A4 (printed
to PDF by Chromium and read back), never offered for an export that paid nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from abax_payroll.workflow.services import services
from tests.support import good_logbooks, preview, wait_for_export

from .helpers import ACME_KEY, api, export_through_api, login, nav, set_up_company
from .pdf_text import pdf_pages

A4_WIDTH_PT = 595.92  # what Chromium writes as the MediaBox width of an A4 page


@pytest.fixture
def december(fresh: Any) -> Iterator[None]:
    """5 December 2026 in Oslo, whenever the test runs: next year's rates are due."""
    state = services()
    saved = state.clock
    state.clock = lambda: datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    yield
    state.clock = saved


def _trip_in_january(stack: Any) -> None:
    trip = {
        "id": "t-2027-01-12",
        "vehicle": {"id": "v-101", "alias": "Olas Golf", "commercial_class": "Private"},
        "driver": {"id": "d-1001", "external_id": "1001", "name": "Ola Nordmann"},
        "start": {"location": {"latitude": 59.9, "longitude": 10.7, "timestamp": "2027-01-12T08:00:00Z"},
                  "address": "Karl Johans gate 1, Oslo"},
        "finish": {"location": {"latitude": 59.7, "longitude": 10.2, "timestamp": "2027-01-12T09:00:00Z"},
                   "address": "Storgata 5, Drammen"},
        "distance": 40,
        "purpose": "Kundemøte",
        "commercial_class": "BusinessTrip",
    }  # fmt: skip
    response = httpx.post(
        f"{stack.url}/emulators/abax/_control/trips", json={"tenant_id": "acme", "trips": [trip]}, timeout=10
    )
    assert response.status_code == 200, response.text


def test_next_years_paid_and_trekkfri_rates_are_entered_with_norwegian_decimals(
    page: Page, shot, fresh, december
) -> None:
    client = set_up_company(fresh, "acme", ACME_KEY)
    _trip_in_january(fresh)
    january = {"from": "2027-01-01", "to": "2027-01-31"}
    blocked = preview(client, january)
    assert {(item["table"], item["category"]) for p in blocked["problems"] if p["code"] == "RATE_MISSING"
            for item in p["items"]} >= {("paid", "mileage"), ("tax_free", "mileage")}  # fmt: skip

    login(page, "acme", "admin")
    nav(page, "Satser")
    expect(page.get_by_test_id("paid-rates")).to_contain_text("Satser som betales")
    expect(page.get_by_test_id("tax_free-rates")).to_contain_text("Trekkfrie satser")
    # The December warning links to exactly that: a row per category for 2027 in both tables, rates empty.
    page.get_by_test_id("add-next-year").click()
    paid_2027 = page.get_by_test_id("paid-rates").locator("tbody tr[data-year='2027']")
    free_2027 = page.get_by_test_id("tax_free-rates").locator("tbody tr[data-year='2027']")
    expect(paid_2027).to_have_count(5)
    expect(free_2027).to_have_count(5)
    expect(paid_2027.first.get_by_test_id("paid-rate")).to_be_focused()
    # No browser number field: "5,50" (Norwegian) and "1.00" both mean what they say.
    assert paid_2027.first.get_by_test_id("paid-rate").get_attribute("type") == "text"
    paid_2027.nth(0).get_by_test_id("paid-rate").fill("5,50")
    for row in range(1, 5):
        paid_2027.nth(row).get_by_test_id("paid-rate").fill("1.00")
    free_2027.nth(0).get_by_test_id("tax_free-rate").fill("3,50")
    for row in range(1, 5):
        free_2027.nth(row).get_by_test_id("tax_free-rate").fill("1,00")
    shot("satser for 2027")
    page.get_by_role("button", name="Lagre satser").click()
    expect(page.locator("#rates-message")).to_contain_text("Satsene er lagret.")
    saved = api(fresh, "acme").get("/rates").json()
    assert {
        "category": "mileage",
        "valid_from": "2027-01-01",
        "valid_to": "2027-12-31",
        "rate": "5.50",
    } in saved["rates"]
    assert {
        "category": "mileage",
        "valid_from": "2027-01-01",
        "valid_to": "2027-12-31",
        "rate": "3.50",
    } in saved["tax_free_rates"]
    # Shown the Norwegian way after saving.
    expect(
        page.get_by_test_id("paid-rates")
        .locator("tbody tr[data-year='2027']")
        .first.get_by_test_id("paid-rate")
    ).to_have_value("5,50")

    # The trip on 12 January 2027 is no longer blocked: 40 km × 5.50 = 220.00, of it 40 × 3.50 = 140.00 trekkfri.
    shown = preview(client, january)
    assert "RATE_MISSING" not in {p["code"] for p in shown["problems"]}
    (line,) = [line for line in shown["lines"] if line["pay_item_code"] == "710"]
    assert (line["rate"], line["amount"], line["tax_free_amount"]) == ("5.50", "220.00", "140.00")


def test_an_unusual_rate_is_asked_about_with_focus_on_change_and_pay_items_show_their_a_melding_description(
    page: Page, shot, fresh
) -> None:
    set_up_company(fresh, "acme", ACME_KEY)
    login(page, "acme", "admin")
    nav(page, "Lønnsarter")
    expect(page.get_by_test_id("benefit-mileage")).to_have_text("KilometergodtgjoerelseBil")
    expect(page.get_by_test_id("benefit-passenger")).to_have_text("KilometergodtgjoerelsePassasjertillegg")

    nav(page, "Satser")
    first = page.get_by_test_id("paid-rates").locator("tbody tr").first.get_by_test_id("paid-rate")
    first.fill("550")
    page.get_by_role("button", name="Lagre satser").click()
    doubt = page.get_by_test_id("confirm-dialog")
    expect(doubt).to_contain_text("mer enn dobbelt så mye som statens sats")
    expect(doubt.get_by_role("button", name="Endre")).to_be_focused()
    shot("uvanlig sats spor med fokus pa endre")
    page.keyboard.press("Enter")  # one Enter changes, never saves 550 kr per km
    expect(doubt).to_have_count(0)
    assert "550.00" not in str(api(fresh, "acme").get("/rates").json()["rates"])


def test_the_printable_report_fits_a4_with_every_money_column_and_names_the_company_until_undone(
    page: Page, shot, fresh
) -> None:
    client = set_up_company(fresh, "acme", ACME_KEY)
    record = export_through_api(client, good_logbooks(client))
    assert record["status"] == "COMPLETED", record
    report = client.get(f"/exports/{record['export_id']}/report").json()
    login(page, "acme", "admin")
    page.goto(f"{page.base_url}/#/exports/{record['export_id']}/report")  # type: ignore[attr-defined]
    expect(page.get_by_test_id("report-company")).to_have_text("Acme Transport AS")
    expect(page.get_by_test_id("report-group").first).to_be_visible()
    page.emulate_media(media="print")
    pages = pdf_pages(page.pdf(format="A4", print_background=True))
    assert pages and all(abs(p.width - A4_WIDTH_PT) < 1 for p in pages)
    text = "".join(p.text for p in pages)
    for heading in ("Beløp", "Trekkfritt", "Skattepliktig", "Sats", "Lønnslinje", "Acme Transport AS"):
        assert heading in text, heading
    # Every run of text is on its page (before, 1,119 px of table were cut at the page's 728 px).
    assert max(x for p in pages for x, _ in p.runs) < A4_WIDTH_PT - 20
    # The first employee's sums are printed: amount, trekkfritt and taxable.
    first = [row for row in report["rows"] if row["employee_number"] == report["rows"][0]["employee_number"]]
    for field in ("amount", "tax_free_amount", "taxable_amount"):
        total = sum(Decimal(row[field]) for row in first)
        printed = f"{total:,.2f}".replace(",", " ").replace(".", ",").replace(" ", "\u00a0")
        assert printed in text or printed.replace("\u00a0", " ") in text, (field, printed)
    shot("dokumentasjon utskrift")

    # Undone, the export paid nothing: the app offers no report (the API answers 409 NOTHING_PAID).
    page.emulate_media(media="screen")
    assert client.post(f"/exports/{record['export_id']}/rollback").status_code == 202
    assert wait_for_export(client, record["export_id"])["status"] == "ROLLED_BACK"
    page.goto(f"{page.base_url}/#/exports/{record['export_id']}")  # type: ignore[attr-defined]
    expect(page.get_by_test_id("status")).to_contain_text("Angret")
    expect(page.get_by_test_id("report-csv")).to_have_count(0)
    expect(page.get_by_test_id("report-print")).to_have_count(0)
