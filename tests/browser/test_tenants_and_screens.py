"""One company never sees another's data; the payroll role; rates, schedule; a running export's progress."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from .conftest import set_faults
from .helpers import ACME_KEY, api, export_through_api, login, nav, search, set_up_company

GOOD_ACME_LOGBOOKS = ["d-1001:v-101:2026-10", "d-1002:v-102:2026-10", "d-1003:v-103:2026-10"]


def test_beta_never_sees_acme_data(page: Page, shot, fresh) -> None:
    acme = set_up_company(fresh, "acme", ACME_KEY)
    done = export_through_api(acme, GOOD_ACME_LOGBOOKS)
    assert done["status"] == "COMPLETED", done

    login(page, "beta", "admin")
    expect(page.get_by_test_id("integration-status")).to_have_text(re.compile("Ikke aktivert"))
    nav(page, "Eksporthistorikk")
    expect(page.get_by_text("Ingen eksporter ennå.")).to_be_visible()
    shot("beta ser ingen eksporter")

    # Acme's export id typed into the address bar: not found for beta.
    page.goto(f"{page.base_url}/#/exports/{done['export_id']}")  # type: ignore[attr-defined]
    expect(page.get_by_role("alert")).to_contain_text("Finnes ikke")
    expect(page.get_by_role("alert")).to_contain_text("Det finnes ingen slik eksport for dette firmaet.")
    expect(page.get_by_role("main")).not_to_contain_text("Ola Nordmann")
    shot("beta far ikke acmes eksport")

    # Beta activates its own integration and searches: only beta's drivers, nothing marked exported.
    nav(page, "Integrasjoner")
    page.get_by_role("button", name="Aktiver").click()
    page.get_by_label("Klientnøkkel", exact=True).fill("beta-demo-client-key-91c2")
    page.get_by_role("button", name="Bekreft").click()
    expect(page.get_by_test_id("client-name")).to_have_text("Beta Bygg AS")
    nav(page, "Ny eksport")
    search(page)
    logbooks = page.get_by_test_id("logbooks")
    expect(logbooks.locator("tbody tr").first).to_be_visible()
    for name in ("Ola Nordmann", "Kari Hansen", "Per Olsen", "Nils Bakke", "Lise Moe"):
        expect(logbooks).not_to_contain_text(name)
    expect(logbooks.locator("tr.exported")).to_have_count(0)
    shot("beta sine kjoreboker")

    # Deaktiver asks first, then forgets the key.
    nav(page, "Integrasjoner")
    page.get_by_role("button", name="Deaktiver").click()
    confirm = page.get_by_test_id("confirm-dialog")  # the app's own dialog, not the browser's
    expect(confirm.get_by_role("heading")).to_have_text("Deaktivere PowerOffice Go?")
    expect(confirm.get_by_role("button", name="Avbryt")).to_be_focused()
    confirm.get_by_role("button", name="Deaktiver").click()
    expect(page.get_by_test_id("integration-status")).to_have_text(re.compile("Ikke aktivert"))
    expect(page.locator("#integration-message")).to_contain_text("Klientnøkkelen er slettet")

    # Without an active integration the pay items cannot be read: the codes screen works on codes alone.
    nav(page, "Lønnsarter")
    expect(page.get_by_test_id("pay-items-unavailable")).to_contain_text(
        "vises når integrasjonen med PowerOffice Go er aktivert"
    )
    expect(page.locator("#code-mileage")).to_be_editable()
    expect(page.locator("#code-mileage")).not_to_have_attribute("list", re.compile(".*"))
    expect(page.get_by_test_id("pay-item-mileage")).to_have_count(0)
    shot("lonnskoder uten navn")


def test_payroll_role_rates_and_schedule(page: Page, shot, fresh) -> None:
    login(page, "acme", "payroll")
    expect(page.get_by_role("button", name="Aktiver")).to_be_disabled()
    expect(page.get_by_text("Bare en administrator kan aktivere")).to_be_visible()
    shot("lonnsansvarlig kan ikke aktivere")

    nav(page, "Satser")
    first_rate = page.get_by_role("textbox", name="Sats (kr)").first
    expect(first_rate).to_be_visible()
    # Listed per category by date, newest first, the one in force today marked.
    marked = page.get_by_test_id("paid-rates").locator("tbody tr[data-in-force=true]")
    expect(marked).to_have_count(5)  # one per km category
    expect(marked.first).to_contain_text("gjelder nå")
    page.get_by_role("button", name="Legg til sats", exact=True).click()
    new_row = page.get_by_test_id("paid-rates").locator("tbody tr").last
    new_row.get_by_label("Kategori").select_option("mileage")
    new_row.get_by_label("Gjelder fra").fill("2027-01-01")
    # A typo far above the state rate (5,30 kr) is asked about before it is saved.
    new_row.get_by_role("textbox", name="Sats (kr)").fill("55.00")
    page.get_by_role("button", name="Lagre satser").click()
    doubt = page.get_by_test_id("confirm-dialog")
    expect(doubt).to_contain_text("mer enn dobbelt så mye som statens sats")
    expect(doubt).to_contain_text("55,00 kr")
    shot("uvanlig hoy sats")
    doubt.get_by_role("button", name="Endre").click()
    expect(doubt).to_have_count(0)
    assert "2027-01-01" not in str(api(fresh, "acme").get("/rates").json()["rates"])
    new_row.get_by_role("textbox", name="Sats (kr)").fill("5,50")
    page.get_by_role("button", name="Lagre satser").click()
    expect(page.locator("#rates-message")).to_contain_text("Satsene er lagret.")
    rates = api(fresh, "acme").get("/rates").json()["rates"]
    assert {"category": "mileage", "valid_from": "2027-01-01", "valid_to": None, "rate": "5.50"} in rates
    shot("satser lagret")

    nav(page, "Månedlig eksport")
    page.get_by_label("Eksporter forrige måned automatisk").check()
    page.get_by_label("Dag i måneden (1–28)").fill("5")
    page.get_by_label("Varsle på e-post").fill("lonn@acme.no, okonomi@acme.no")
    page.get_by_role("button", name="Lagre").click()
    expect(page.locator("#schedule-message")).to_contain_text("Planen er lagret.")
    expect(page.get_by_text("Slått på: forrige måned eksporteres den 5.")).to_be_visible()
    assert api(fresh, "acme").get("/schedule").json() == {
        "enabled": True,
        "day_of_month": 5,
        "notification_emails": ["lonn@acme.no", "okonomi@acme.no"],
    }
    shot("manedlig eksport")


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Push in chunks of 3 lines: created ids (and so lines_pushed) are recorded once per chunk."""
    from abax_payroll.workflow.services import reset_services

    monkeypatch.setenv("PUSH_CHUNK_SIZE", "3")
    reset_services()
    yield
    monkeypatch.undo()
    reset_services()


def test_a_running_export_shows_lines_pushed(page: Page, shot, fresh, small_chunks) -> None:
    set_up_company(fresh, "acme", ACME_KEY)
    set_faults(
        fresh,
        [{"method": "POST", "path": "/SalaryLines", "nth": 1, "times": 100, "status": None, "delay_s": 0.3}],
    )
    client = api(fresh, "acme")
    response = client.post(
        "/exports", json={"from": "2026-10-01", "to": "2026-10-31", "logbook_ids": GOOD_ACME_LOGBOOKS}
    )
    assert response.status_code == 202, response.text
    export_id = response.json()["export_id"]

    login(page, "acme", "admin")
    nav(page, "Eksporthistorikk")
    row = page.get_by_test_id("exports").locator("tbody tr").first
    expect(row).to_contain_text("Pågår")
    row.get_by_role("link", name=re.compile("^Vis eksporten fra")).click()
    progress = page.get_by_test_id("progress-text")
    expect(progress).to_contain_text(re.compile(r"[1-9]\d* av 13 linjer overført"), timeout=20_000)
    expect(page.locator("#push-progress")).to_be_visible()
    shot("eksport pagar")
    # On a phone the progress bar and the page fit the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    if page.locator("#export-detail[data-status=RUNNING]").count():
        bar = page.locator("#push-progress").bounding_box()
        assert bar and bar["x"] + bar["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    shot("eksport pagar mobil")
    page.set_viewport_size({"width": 1366, "height": 900})
    expect(page.locator("#export-detail")).to_have_attribute("data-status", "COMPLETED", timeout=60_000)
    expect(page.locator("#live")).to_contain_text("Fullført")
    assert export_id in page.url
    shot("eksport ferdig")


def test_an_export_shows_n_of_n_and_the_amount_from_its_first_render_then_counts_up(
    page: Page, shot, fresh
) -> None:
    client = set_up_company(fresh, "acme", ACME_KEY)
    searched = client.post(
        "/exports/preview", json={"from": "2026-10-01", "to": "2026-10-31", "logbook_ids": GOOD_ACME_LOGBOOKS}
    )
    assert searched.status_code == 200 and searched.json()["ready"], searched.text
    # The export's own ABAX read answers late (it stays in its check a while) and every line takes 1 s.
    slow_trips = {"method": "GET", "path": "/v1/trips", "nth": 1, "times": 1, "delay_s": 5}
    answer = httpx.post(
        f"{fresh.url}/emulators/abax/_control/faults", json={"rules": [slow_trips]}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    set_faults(
        fresh,
        [{"method": "POST", "path": "/SalaryLines", "nth": 1, "times": 100, "status": None, "delay_s": 1.0}],
    )
    login(page, "acme", "admin")
    started = client.post(
        "/exports", json={"from": "2026-10-01", "to": "2026-10-31", "logbook_ids": GOOD_ACME_LOGBOOKS}
    )
    assert started.status_code == 202, started.text
    page.goto(f"{page.base_url}/#/exports/{started.json()['export_id']}")  # type: ignore[attr-defined]

    # The first render, while ABAX is still read: checking, the preview's 13 lines and amount, 0 of 13.
    progress = page.get_by_test_id("progress")
    expect(progress).to_have_attribute("data-phase", "checking")
    expect(page.get_by_test_id("phase")).to_contain_text(
        re.compile(r"Kontrollerer · 13 lønnslinjer, 15\s620,82\skr \(tallene fra forhåndsvisningen")
    )
    expect(page.get_by_test_id("progress-text")).to_have_text("0 av 13 linjer overført til PowerOffice Go")
    shot("eksport kontrolleres")
    # Sending: the count moves through the lines, then the outcome.
    expect(progress).to_have_attribute("data-phase", "sending", timeout=30_000)
    expect(page.get_by_test_id("progress-text")).to_have_text(
        re.compile(r"^([1-9]|1[0-2]) av 13 linjer overført"), timeout=30_000
    )
    expect(page.get_by_test_id("phase")).not_to_contain_text("forhåndsvisningen")
    shot("eksport sender")
    expect(page.locator("#export-detail")).to_have_attribute("data-status", "COMPLETED", timeout=60_000)
    expect(page.get_by_test_id("outcome")).to_contain_text("13 lønnslinjer er opprettet")
