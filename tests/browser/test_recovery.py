"""The ways forward of a stuck export in the web app: complete it, roll it back again, try again, undo (issue 15 §1)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.support import good_logbooks

from .conftest import set_faults
from .helpers import ACME_KEY, export_through_api, login, set_up_company


def _control(stack: Any, name: str, body: dict[str, Any]) -> None:
    httpx.post(f"{stack.url}/emulators/poweroffice/_control/{name}", json=body, timeout=10).raise_for_status()


def _stuck_export(stack: Any) -> tuple[httpx.Client, dict[str, Any]]:
    """Two lines went into a payroll before the third failed: ROLLBACK_INCOMPLETE, made through the API."""
    client = set_up_company(stack, "acme", ACME_KEY)
    client.tenant = "acme"  # type: ignore[attr-defined]
    logbooks = good_logbooks(client)
    _control(stack, "lock", {"all": True})
    set_faults(stack, [{"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 500}])
    record = export_through_api(client, logbooks)
    assert record["status"] == "ROLLBACK_INCOMPLETE", record
    set_faults(stack, [])
    return client, record


def _open(page: Page, export_id: str) -> None:
    page.goto(f"{page.base_url}/#/exports/{export_id}")  # type: ignore[attr-defined]
    expect(page.locator("#export-detail")).to_be_attached()


def _confirm(page: Page, button: str, confirm: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=confirm, exact=True).click()
    expect(dialog).to_have_count(0)


def test_a_stuck_export_is_completed_from_its_page(page: Page, shot, fresh) -> None:
    client, record = _stuck_export(fresh)
    login(page, "acme", "payroll")
    _open(page, record["export_id"])
    actions = page.get_by_test_id("actions")
    expect(actions.get_by_role("button")).to_have_text(["Angre på nytt", "Fullfør eksporten"])
    shot("tilbakerulling ufullstendig med valg")

    # Cancelling changes nothing and gives the focus back to the button.
    page.get_by_role("button", name="Fullfør eksporten").click()
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Avbryt").click()
    expect(page.get_by_role("button", name="Fullfør eksporten")).to_be_focused()
    assert client.get(f"/exports/{record['export_id']}").json()["status"] == "ROLLBACK_INCOMPLETE"

    _confirm(page, "Fullfør eksporten", "Opprett de manglende linjene")

    detail = page.locator("#export-detail")
    expect(detail).to_have_attribute("data-status", "COMPLETED", timeout=60_000)
    history = page.get_by_test_id("history")
    expect(history.locator("li[data-outcome=STARTED]")).to_contain_text("payroll@acme.example")
    expect(history.locator("li[data-outcome=COMPLETED]")).to_contain_text(
        f"{record['line_count'] - 2} manglende lønnslinjer opprettet"
    )
    expect(page.get_by_test_id("left-behind")).to_have_count(0)
    expect(page.get_by_test_id("actions").get_by_role("button")).to_have_text(["Angre eksporten"])
    shot("fullført etter fullføring")
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_roll_back_again_then_try_again(page: Page, shot, fresh) -> None:
    client, record = _stuck_export(fresh)
    _control(fresh, "unlock", {"all": True})
    login(page, "acme", "admin")
    _open(page, record["export_id"])

    _confirm(page, "Angre på nytt", "Slett linjene som ligger igjen")

    expect(page.locator("#export-detail")).to_have_attribute("data-status", "ROLLED_BACK", timeout=60_000)
    expect(page.get_by_test_id("history").locator("li[data-outcome=ROLLED_BACK]").last).to_contain_text(
        "Angret: 2 lønnslinjer slettet i PowerOffice Go"
    )
    shot("rullet tilbake på nytt")

    _confirm(page, "Prøv igjen", "Start eksporten")

    expect(page).not_to_have_url(re.compile(record["export_id"]))
    detail = page.locator("#export-detail")
    expect(detail).to_have_attribute("data-status", "COMPLETED", timeout=60_000)
    new_id = page.url.rsplit("/", 1)[1]
    again = client.get(f"/exports/{new_id}").json()
    assert again["period"] == record["period"] and again["logbook_ids"] == record["logbook_ids"]
    assert again["line_count"] == record["line_count"]


def test_undo_a_completed_export_in_english_names_the_line_in_a_payroll(page: Page, shot, fresh) -> None:
    client = set_up_company(fresh, "acme", ACME_KEY)
    client.tenant = "acme"  # type: ignore[attr-defined]
    record = export_through_api(client, good_logbooks(client))
    assert record["status"] == "COMPLETED"
    locked = record["lines"][0]["salary_line_id"]
    _control(fresh, "lock", {"salary_line_ids": [locked]})
    login(page, "acme", "admin")
    page.get_by_role("button", name="Switch to English").click()
    _open(page, record["export_id"])

    _confirm(page, "Undo the export", "Delete the salary lines")

    refused = page.get_by_test_id("history").locator("li[data-outcome=REFUSED]")
    expect(refused).to_contain_text("Undo refused: 1 salary line is in a payroll run", timeout=60_000)
    expect(refused).to_contain_text(f"line {locked}: is taken into a payroll run")
    expect(page.locator("#export-detail")).to_have_attribute("data-status", "COMPLETED")
    shot("undo refused english")
