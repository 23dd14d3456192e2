"""The seed's story in a real browser: activate, map codes, search, fix, export, see it in the list."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .helpers import login, nav, search, start_export, wait_results


@pytest.mark.abax_not_connected
def test_activation_codes_search_fix_export(page: Page, shot, fresh: Any) -> None:
    login(page, "acme", "admin")
    expect(page.get_by_role("heading", name="Integrasjoner", level=1)).to_be_visible()
    expect(page.get_by_test_id("integration-status")).to_have_text(re.compile("Ikke aktivert"))
    shot("integrasjoner ikke aktivert")

    # Aktiver: the dialog takes focus, Esc closes it and gives focus back.
    activate = page.get_by_role("button", name="Aktiver")
    activate.click()
    dialog = page.get_by_role("dialog", name="Aktiver PowerOffice Go")
    expect(dialog).to_be_visible()
    key = dialog.get_by_label("Klientnøkkel", exact=True)
    expect(key).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(activate).to_be_focused()

    # A wrong key: the dialog stays and says what to fix.
    activate.click()
    expect(key).to_be_focused()
    # Tab from the last button comes back to the key (the focus stays in the dialog).
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(key).to_be_focused()
    key.fill("acme-wrong-key-0000")
    dialog.get_by_role("button", name="Bekreft").click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("Integrasjonen ble ikke aktivert")
    expect(alert).to_contain_text("kjenner ikke igjen denne klientnøkkelen")
    expect(alert).to_contain_text("produksjonsmiljøet")
    expect(key).to_have_attribute("aria-invalid", "true")
    shot("feil klientnokkel")

    # A key of a client without the Payroll module: the message says what is missing.
    key.fill("gamma-no-payroll-key-55d0")
    dialog.get_by_role("button", name="Bekreft").click()
    expect(alert).to_contain_text("lønnsmodulen")
    expect(alert).to_contain_text("Lønnsmodulen (Lønn)")
    shot("lonnsmodul mangler")

    # The right key.
    key.fill("acme-demo-client-key-7f3a")
    dialog.get_by_role("button", name="Bekreft").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("integration-status")).to_have_text(re.compile("Aktivert"))
    expect(page.locator("#integration-message")).to_contain_text("Integrasjonen er godkjent")
    expect(page.get_by_test_id("client-name")).to_have_text("Acme Transport AS")
    expect(page.locator("#live")).to_contain_text("Integrasjonen er godkjent")
    # The first thing offered after activation is the pay-item setup, not an export.
    expect(
        page.locator("#integration-message").get_by_role("link", name="Sett opp lønnsarter")
    ).to_be_focused()
    shot("integrasjon aktivert")
    assert "acme-demo-client-key" not in page.evaluate(
        "JSON.stringify(sessionStorage) + JSON.stringify(localStorage)"
    )

    # ABAX: the company's own API client (client id and secret ABAX issued it), in the form beside Go.
    client_id, client_secret = fresh.abax.credentials("acme")
    abax = page.get_by_test_id("abax-card")
    expect(page.get_by_test_id("abax-status")).to_have_text(re.compile("Ikke tilkoblet"))
    abax.get_by_label("Klient-ID", exact=True).fill(client_id)
    abax.get_by_label("Klienthemmelighet", exact=True).fill(client_secret)
    abax.get_by_role("button", name="Koble til ABAX").click()
    expect(page.get_by_test_id("abax-status")).to_have_text(re.compile("Tilkoblet"))
    expect(page.get_by_test_id("abax-connected-by")).to_have_text("admin@acme.example")
    shot("abax tilkoblet")
    assert client_secret not in page.evaluate("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)")

    # Lønnsarter: map all but toll, and mileage to the inactive 730.
    nav(page, "Lønnsarter")
    expect(page.get_by_role("heading", name="Lønnsarter", level=1)).to_be_visible()
    codes = {
        "mileage": "730",
        "passenger": "711",
        "trailer": "712",
        "forest_road": "713",
        "heavy_load": "714",
        "toll": "",
        "parking": "721",
        "ferry": "722",
    }
    # Suggestions per kind: PowerOffice Go's active pay items that fit, by code and name.
    expect(page.locator("#code-mileage")).to_have_attribute("list", "pay-items-km")
    expect(page.locator("#code-toll")).to_have_attribute("list", "pay-items-outlay")
    km = page.locator("#pay-items-km option")
    expect(km.filter(has_text="710 – Kilometergodtgjørelse bil")).to_have_attribute("value", "710")
    expect(km.filter(has_text="Gammel km-sats")).to_have_count(0)  # 730 is inactive
    expect(km.filter(has_text="Bompenger")).to_have_count(0)  # an outlay
    expect(page.locator("#pay-items-outlay option").filter(has_text="720 – Bompenger")).to_have_count(1)
    for category, code in codes.items():
        page.locator(f"#code-{category}").fill(code)
    # Each typed code is named (or said to be wrong) next to it.
    expect(page.get_by_test_id("pay-item-passenger")).to_have_text("Passasjertillegg")
    expect(page.get_by_test_id("pay-item-mileage")).to_have_text("Gammel km-sats – inaktiv i PowerOffice Go")
    expect(page.get_by_test_id("pay-item-toll")).to_have_text("")
    expect(page.get_by_role("main")).not_to_contain_text("Navnene på lønnsartene")
    page.get_by_role("button", name="Lagre lønnsarter").click()
    expect(page.locator("#codes-message")).to_contain_text("Lønnsartene er lagret.")
    expect(page.get_by_test_id("pay-item-parking")).to_have_text("Parkering")
    shot("lonnskoder med feil")

    # Søk: every problem at once, each with its items and where to fix it.
    nav(page, "Ny eksport")
    search(page)
    problems = page.get_by_test_id("problems")
    expect(problems).to_be_visible()
    for code in (
        "PAY_ITEM_NOT_FOUND",
        "PAY_CODE_NOT_CONFIGURED",
        "EMPLOYEE_NUMBER_MISSING",
        "EMPLOYEE_NOT_FOUND",
    ):
        expect(problems.locator(f"li.problem[data-code={code}]")).to_be_visible()
    expect(problems).to_contain_text("730")
    expect(problems).to_contain_text("Bompenger")
    expect(problems).to_contain_text("Nils Bakke")
    expect(problems).to_contain_text("1099")
    expect(page.get_by_test_id("export-button")).to_be_disabled()
    expect(page.get_by_test_id("logbooks").locator("tbody tr")).to_have_count(5)
    shot("sok viser alle problemer")

    # The fix: the codes screen from the problem's link, then back to the search.
    problems.locator("li.problem[data-code=PAY_ITEM_NOT_FOUND]").get_by_role(
        "link", name="Gå til lønnsarter"
    ).click()
    expect(page.get_by_role("heading", name="Lønnsarter", level=1)).to_be_visible()
    expect(page.get_by_test_id("pay-item-mileage")).to_contain_text("inaktiv")
    page.locator("#code-mileage").fill("710")
    page.locator("#code-toll").fill("720")
    expect(page.get_by_test_id("pay-item-mileage")).to_have_text("Kilometergodtgjørelse bil")
    expect(page.get_by_test_id("pay-item-toll")).to_have_text("Bompenger")
    page.get_by_role("button", name="Lagre lønnsarter").click()
    expect(page.locator("#codes-message")).to_contain_text("Lønnsartene er lagret.")
    page.get_by_role("link", name="Til eksport").click()
    search(page)
    expect(problems.locator("li.problem")).to_have_count(2)

    # ... and leave out the logbooks of the drivers PowerOffice Go does not know.
    problems.locator("li.problem[data-code=EMPLOYEE_NUMBER_MISSING]").get_by_role(
        "button", name="Fjern disse kjørebøkene fra utvalget"
    ).click()
    wait_results(page)
    expect(problems.locator("li.problem")).to_have_count(1)
    # Focus lands on what is left to fix, not at the top of the page.
    expect(page.locator("#results-summary")).to_be_focused()
    expect(page.locator("#results-summary")).to_have_text("Dette må rettes før eksport (1)")
    problems.locator("li.problem[data-code=EMPLOYEE_NOT_FOUND]").get_by_role(
        "button", name="Fjern disse kjørebøkene fra utvalget"
    ).click()
    wait_results(page)
    expect(page.get_by_test_id("problems")).to_have_count(0)
    expect(page.get_by_test_id("ready")).to_contain_text("13 linjer")
    expect(page.get_by_test_id("totals")).to_contain_text("Ola Nordmann")
    expect(page.get_by_test_id("grand-total")).to_have_text(re.compile(r"15\s620,82"))
    shot("klar til eksport")

    # A changed selection refreshes the preview by itself; the button says what it will transfer.
    per = page.get_by_test_id("logbooks").locator("tr").filter(has_text="Per Olsen").get_by_role("checkbox")
    per.uncheck()
    wait_results(page)
    expect(page.get_by_test_id("totals")).not_to_contain_text("Per Olsen")
    expect(page.get_by_test_id("export-button")).not_to_contain_text("13 lønnslinjer")
    per.check()
    wait_results(page)
    expect(page.get_by_test_id("ready")).to_contain_text("13 linjer")
    expect(page.get_by_test_id("export-button")).to_have_text(
        re.compile(r"^Overfør 13 lønnslinjer, 15\s620,82\skr$")
    )
    # The confirmation can be declined: nothing starts.
    page.get_by_test_id("export-button").click()
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Avbryt").click()
    expect(page.get_by_test_id("confirm-dialog")).to_have_count(0)
    expect(page.get_by_test_id("export-button")).to_be_focused()

    # Eksporter: the detail shows progress, then the outcome; the list shows it as Fullført.
    start_export(page)
    expect(page.locator("#export-detail")).to_have_attribute("data-status", "COMPLETED", timeout=60_000)
    expect(page.get_by_test_id("outcome")).to_contain_text("13 lønnslinjer er opprettet")
    lines = page.get_by_test_id("export-lines")
    expect(lines.locator("tbody tr")).to_have_count(13)
    expect(lines).to_contain_text(re.compile(r"71000000\d\d"))
    # 710 withholds: of 5.30 per km, 3.50 is tax-free and the rest taxable, shown for the export and per line.
    expect(page.get_by_test_id("taxable-amount")).to_have_text(re.compile(r"[1-9]"))
    shot("eksport fullfort")

    # The documentation report, printable: per employee and month, every trip with from, to and its line.
    page.get_by_test_id("report-print").click()
    expect(page.get_by_role("heading", name="Dokumentasjon av kjøregodtgjørelse", level=1)).to_be_visible()
    groups = page.get_by_test_id("report-group")
    expect(groups).to_have_count(3)
    expect(groups.first).to_contain_text("Ola Nordmann (1001) – oktober 2026")
    expect(groups.first).to_contain_text("Karl Johans gate 1")
    expect(groups.first).to_contain_text(re.compile(r"710 #71000000\d\d"))
    shot("dokumentasjon")
    page.go_back()
    expect(page.locator("#export-detail")).to_have_attribute("data-status", "COMPLETED")

    page.get_by_role("link", name="Tilbake til eksporthistorikken").click()
    rows = page.get_by_test_id("exports").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Fullført")
    expect(rows.first).to_contain_text("Manuelt")
    expect(rows.first).to_contain_text("13")
    shot("eksportliste")

    # A new search marks the logbooks as already exported.
    page.get_by_role("main").get_by_role("link", name="Ny eksport").click()
    search(page)
    exported = page.get_by_test_id("logbooks").locator("tr.exported")
    expect(exported).to_have_count(3)
    expect(exported.first).to_contain_text("Allerede eksportert")
    shot("allerede eksportert")
