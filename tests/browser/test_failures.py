"""When PowerOffice Go fails mid-export: the rollback message, and the lines left behind when it cannot finish."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import set_faults
from .helpers import ACME_KEY, login, nav, search, set_up_company, start_export, wait_results


def _export_good_logbooks(page: Page) -> None:
    nav(page, "Ny eksport")
    search(page)
    problems = page.get_by_test_id("problems")
    for code in ("EMPLOYEE_NUMBER_MISSING", "EMPLOYEE_NOT_FOUND"):
        problems.locator(f"li.problem[data-code={code}]").get_by_role(
            "button", name="Fjern disse kjørebøkene fra utvalget"
        ).click()
        wait_results(page)
    expect(page.get_by_test_id("export-button")).to_be_enabled()
    start_export(page)


def test_forced_failure_shows_the_rollback(page: Page, shot, fresh) -> None:
    set_up_company(fresh, "acme", ACME_KEY)
    set_faults(fresh, [{"method": "POST", "path": "/SalaryLines", "nth": 2, "times": 100, "status": 500}])
    login(page, "acme", "admin")
    _export_good_logbooks(page)
    detail = page.locator("#export-detail")
    expect(detail).to_have_attribute("data-status", "ROLLED_BACK", timeout=60_000)
    expect(page.get_by_test_id("status")).to_have_text(re.compile("Feilet – rullet tilbake"))
    outcome = page.get_by_test_id("outcome")
    expect(outcome.get_by_role("heading", level=2)).to_have_text("Eksporten feilet og er rullet tilbake")
    message = page.get_by_test_id("rollback-message")
    expect(message).to_contain_text("1 lønnslinje som allerede var opprettet, er slettet igjen")
    expect(page.get_by_test_id("error")).to_be_visible()
    # What Go's 500 means for the clerk, not a bare "feilkode 500".
    expect(page.get_by_test_id("error")).to_contain_text(
        "feil hos PowerOffice Go (feilkode 500), ikke i selve linjen"
    )
    expect(page.get_by_test_id("left-behind")).to_have_count(0)
    shot("rullet tilbake")

    page.get_by_role("link", name="Tilbake til eksporthistorikken").click()
    row = page.get_by_test_id("exports").locator("tbody tr").first
    expect(row).to_contain_text("Feilet – rullet tilbake")
    expect(row.locator(".badge")).to_have_attribute("data-status", "ROLLED_BACK")
    shot("liste med tilbakerullet eksport")


def test_rollback_that_cannot_finish_lists_the_lines_left_behind(page: Page, shot, fresh) -> None:
    set_up_company(fresh, "acme", ACME_KEY)
    set_faults(
        fresh,
        [
            {"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 500},
            {"method": "DELETE", "path": "/SalaryLines", "nth": 1, "times": 1000, "status": 400},
        ],
    )
    login(page, "acme", "payroll")
    _export_good_logbooks(page)
    expect(page.locator("#export-detail")).to_have_attribute(
        "data-status", "ROLLBACK_INCOMPLETE", timeout=60_000
    )
    outcome = page.get_by_test_id("outcome")
    expect(outcome.get_by_role("heading", level=2)).to_have_text(
        "Eksporten feilet: 2 lønnslinjer ligger igjen i PowerOffice Go"
    )
    # One piece of advice: the two ways forward, each under the condition it is for.
    expect(page.get_by_test_id("rollback-message")).to_contain_text(
        "PowerOffice Go slettet ikke alle linjene"
    )
    expect(outcome.get_by_test_id("actions").get_by_role("button")).to_have_text(
        ["Angre på nytt", "Fullfør eksporten"]
    )
    left = page.get_by_test_id("left-behind")
    expect(left.locator("tbody tr")).to_have_count(2)
    expect(left).to_contain_text("Ola Nordmann")
    expect(left).to_contain_text(re.compile(r"71000000\d\d"))
    shot("tilbakerulling ufullstendig")

    # The same page in English.
    page.get_by_role("button", name="Switch to English").click()
    expect(page.get_by_test_id("status")).to_have_text(re.compile("Failed – lines left behind"))
    expect(page.get_by_test_id("outcome").get_by_role("heading", level=2)).to_have_text(
        "The export failed: 2 salary lines are left in PowerOffice Go"
    )
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot("rollback incomplete english")
