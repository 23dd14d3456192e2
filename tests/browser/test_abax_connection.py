"""ABAX connected through the app: a search without ABAX points to it, the admin's form (a wrong secret said in
Norwegian, then the company's own API client), the app's own dialog to disconnect, the payroll role sees the
status only; at 390 px without sideways scroll."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .helpers import ACME_KEY, api, login, nav, search, set_up_company
from .test_language_and_phone import PHONE, _assert_norwegian, _no_sideways_scroll

pytestmark = pytest.mark.abax_not_connected


def test_admin_connects_abax_through_the_form_and_disconnects(page: Page, shot, fresh: Any) -> None:
    set_up_company(fresh, "acme", ACME_KEY)  # PowerOffice Go and the pay items; ABAX not yet
    client_id, client_secret = fresh.abax.credentials("acme")
    page.set_viewport_size(PHONE)
    login(page, "acme", "admin")

    # A search before ABAX is connected says so in Norwegian and points to where it is connected.
    page.goto(f"{page.base_url}/#/export/new")  # type: ignore[attr-defined]
    search(page)
    alert = page.locator("#results").get_by_role("alert")
    expect(alert).to_contain_text("ABAX er ikke koblet til")
    expect(alert).to_contain_text("koblet til ABAX med firmaets egen API-klient")
    expect(alert).not_to_contain_text("connect ABAX")
    _no_sideways_scroll(page, "search without ABAX at 390 px")
    shot("sok uten abax")
    alert.get_by_role("link", name="Koble til ABAX under Integrasjoner").click()
    expect(page.get_by_role("heading", name="Integrasjoner", level=1)).to_be_visible()

    card = page.get_by_test_id("abax-card")
    expect(page.get_by_test_id("abax-status")).to_have_text(re.compile("Ikke tilkoblet"))
    secret = card.get_by_label("Klienthemmelighet", exact=True)
    expect(secret).to_have_attribute("type", "password")
    _no_sideways_scroll(page, "integration with the ABAX form at 390 px")
    _assert_norwegian(page, set(), "integrasjoner uten abax")
    shot("abax ikke tilkoblet")

    # Empty fields: said before anything is sent.
    card.get_by_role("button", name="Koble til ABAX").click()
    expect(card.get_by_role("alert")).to_have_text("Fyll inn både klient-ID og klienthemmelighet.")
    expect(card.get_by_label("Klient-ID", exact=True)).to_have_attribute("aria-invalid", "true")

    # A wrong secret: ABAX refuses; the sentence is the app's own (from the code), the secret is not kept.
    card.get_by_label("Klient-ID", exact=True).fill(client_id)
    secret.fill("acme-wrong-secret-0000")
    card.get_by_role("button", name="Koble til ABAX").click()
    alert = card.get_by_role("alert")
    expect(alert).to_contain_text("ABAX ble ikke koblet til")
    expect(alert).to_contain_text("ABAX godtok ikke denne API-klienten")
    expect(alert).not_to_contain_text("did not accept")
    expect(alert).to_have_attribute("data-error-code", "ABAX_CREDENTIALS_REJECTED")
    expect(secret).to_have_value("")
    expect(secret).to_have_attribute("aria-invalid", "true")
    expect(secret).to_be_focused()
    expect(page.get_by_test_id("abax-status")).to_have_text(re.compile("Ikke tilkoblet"))
    assert api(fresh, "acme").get("/integrations/abax").json()["status"] == "inactive"
    _no_sideways_scroll(page, "wrong ABAX secret at 390 px")
    _assert_norwegian(page, set(), "feil abax-hemmelighet")
    shot("feil abax-hemmelighet")

    # The company's own API client: connected, when and by whom; the secret is nowhere on the page.
    secret.fill(client_secret)
    card.get_by_role("button", name="Koble til ABAX").click()
    expect(page.get_by_test_id("abax-status")).to_have_text(re.compile("Tilkoblet"))
    expect(page.locator("#abax-message")).to_contain_text("ABAX er koblet til")
    expect(page.get_by_test_id("abax-connected-by")).not_to_have_text("–")
    expect(page.get_by_test_id("abax-connected-at")).to_have_text(re.compile(r"\d{2}\.\d{2}\.\d{4}"))
    expect(card.get_by_label("Klienthemmelighet", exact=True)).to_have_count(0)
    assert client_secret not in page.content()
    assert client_secret not in page.evaluate("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)")
    _no_sideways_scroll(page, "ABAX connected at 390 px")
    _assert_norwegian(page, set(), "abax tilkoblet")
    shot("abax tilkoblet")

    # Now the search reads ABAX.
    page.goto(f"{page.base_url}/#/export/new")  # type: ignore[attr-defined]
    search(page)
    expect(page.get_by_test_id("logbooks").locator("tbody tr").first).to_be_visible()

    # The payroll role sees the status only: no form, no button.
    payroll = page.context.new_page()
    payroll.base_url = page.base_url  # type: ignore[attr-defined]
    payroll.set_viewport_size(PHONE)
    login(payroll, "acme", "payroll")
    expect(payroll.get_by_test_id("abax-status")).to_have_text(re.compile("Tilkoblet"))
    payroll_card = payroll.get_by_test_id("abax-card")
    expect(payroll_card.get_by_role("button")).to_have_count(0)
    expect(payroll_card).to_contain_text("Bare en administrator kan koble ABAX til eller fra.")
    payroll.close()

    # Koble fra asks first in the app's own dialog; Avbryt changes nothing.
    page.goto(f"{page.base_url}/#/integration")  # type: ignore[attr-defined]
    disconnect = card.get_by_role("button", name="Koble fra ABAX")
    disconnect.click()
    confirm = page.get_by_test_id("confirm-dialog")
    expect(confirm.get_by_role("heading")).to_have_text("Koble fra ABAX?")
    expect(confirm.get_by_role("button", name="Avbryt")).to_be_focused()
    _no_sideways_scroll(page, "disconnect dialog at 390 px")
    shot("koble fra abax")
    confirm.get_by_role("button", name="Avbryt").click()
    expect(page.get_by_test_id("confirm-dialog")).to_have_count(0)
    expect(page.get_by_test_id("abax-status")).to_have_text(re.compile("Tilkoblet"))
    disconnect.click()
    confirm.get_by_role("button", name="Koble fra ABAX").click()
    expect(page.get_by_test_id("abax-status")).to_have_text(re.compile("Ikke tilkoblet"))
    expect(page.locator("#abax-message")).to_contain_text("ABAX er koblet fra")
    expect(card.get_by_label("Klient-ID", exact=True)).to_be_visible()
    assert api(fresh, "acme").get("/integrations/abax").json()["status"] == "inactive"
    # PowerOffice Go is untouched.
    expect(page.get_by_test_id("integration-status")).to_have_text(re.compile("Aktivert"))
    shot("abax koblet fra")

    # And the search points to ABAX again.
    page.goto(f"{page.base_url}/#/export/new")  # type: ignore[attr-defined]
    search(page)
    expect(page.locator("#results").get_by_role("alert")).to_contain_text("ABAX er ikke koblet til")


def test_english_screen_says_the_abax_errors_in_english(page: Page, fresh: Any) -> None:
    set_up_company(fresh, "acme", ACME_KEY)
    client_id, _ = fresh.abax.credentials("acme")
    login(page, "acme", "admin")
    page.get_by_role("button", name="Switch to English").click()
    nav(page, "Integrations")
    card = page.get_by_test_id("abax-card")
    expect(page.get_by_test_id("abax-status")).to_have_text(re.compile("Not connected"))
    card.get_by_label("Client ID").fill(client_id)
    card.get_by_label("Client Secret").fill("acme-wrong-secret-0000")
    card.get_by_role("button", name="Connect ABAX").click()
    expect(card.get_by_role("alert")).to_contain_text("ABAX did not accept this API client")


def test_a_scheduled_export_refused_for_want_of_abax_says_so_and_links_there(page: Page, fresh: Any) -> None:
    client = set_up_company(fresh, "acme", ACME_KEY)
    assert client.put("/schedule", json={"enabled": True, "day_of_month": 5}).status_code == 200
    assert fresh.run_schedule("2026-12-05T05:00:00Z")["queued"] == 1  # beta has no schedule
    (refused,) = client.get("/exports").json()["exports"]
    page.set_viewport_size(PHONE)
    login(page, "acme", "payroll")
    page.goto(f"{page.base_url}/#/exports/{refused['export_id']}")  # type: ignore[attr-defined]
    error = page.get_by_test_id("error")
    expect(error).to_have_attribute("data-code", "ABAX_INACTIVE")
    expect(error).to_contain_text("ABAX var ikke koblet til")
    page.get_by_test_id("connect-abax").click()
    expect(page.get_by_test_id("abax-status")).to_have_text(re.compile("Ikke tilkoblet"))
    _no_sideways_scroll(page, "refused scheduled export at 390 px")
