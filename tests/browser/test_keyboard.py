"""The whole story with the keyboard only, on a phone: where the focus is after each action that redraws the page
(issue 23 §5): the menu, a search, ticking a logbook, taking logbooks out, the export, its undo, and the way back
from Lønnsarter to a search that is now marked as out of date."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from .helpers import ACME_KEY, set_up_company

PHONE = {"width": 390, "height": 844}


def _focused(page: Page) -> str:
    """The focused element, as a test can name it: its id, test id or text."""
    return page.evaluate(
        """() => { const el = document.activeElement;
        if (!el || el === document.body) return 'body';
        return el.id ? '#' + el.id : el.dataset.testid ? `[${el.dataset.testid}]` : `${el.tagName}:${(el.value && el.type === 'checkbox') ? el.value : el.textContent.trim().slice(0, 60)}`; }"""
    )


def _tab_to(page: Page, pattern: str, limit: int = 60) -> None:
    """Press Tab until the focused element's name matches (the way a keyboard user gets there)."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = _focused(page)
        seen.append(now)
        if re.search(pattern, now):
            return
    raise AssertionError(f"Tab never reached {pattern!r}: {seen}")


def test_the_story_with_the_keyboard_only(page: Page, shot, fresh: Any) -> None:
    set_up_company(fresh, "acme", ACME_KEY)
    page.set_viewport_size(PHONE)
    page.goto(f"{page.base_url}/")  # type: ignore[attr-defined]
    expect(page.locator("#login-tenant")).to_be_visible()
    page.locator("#login-tenant").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("acme")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Integrasjoner", level=1)).to_be_focused()

    # The folded menu: Tab from "Meny" goes into it, Esc folds it and gives the focus back to "Meny".
    _tab_to(page, r"^#menu-toggle$")
    page.keyboard.press("Enter")
    expect(page.get_by_role("navigation")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("navigation").get_by_role("link", name="Integrasjoner")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("navigation")).to_be_hidden()
    expect(page.locator("#menu-toggle")).to_be_focused()
    page.keyboard.press("Enter")
    _tab_to(page, r"^A:Ny eksport$")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Ny eksport", level=1)).to_be_focused()

    # The date fields: a tab stop with a visible ring; Enter searches.
    _tab_to(page, r"^#export-from$")
    ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert ring not in ("none", ""), ring
    page.locator("#export-from").fill(
        "2026-10-01"
    )  # typed digits follow the browser's date order; fill does not
    page.keyboard.press("Tab")
    page.locator("#export-to").fill("2026-10-31")
    page.keyboard.press("Enter")
    expect(page.locator("#results[data-state=ready]")).to_be_attached(timeout=30_000)
    expect(page.locator("#export-to")).to_be_focused()  # the form is not drawn again: the focus stays

    # To Lønnsarter and back through "Til eksport": the old result says it may be out of date; one key re-runs it.
    _tab_to(page, r"^A:Gå til lønnsarter$")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Lønnsarter", level=1)).to_be_focused()
    _tab_to(page, r"^BUTTON:Lagre lønnsarter$")
    page.keyboard.press("Enter")
    expect(page.locator("#codes-message")).to_contain_text("Lønnsartene er lagret.")
    _tab_to(page, r"^A:Til eksport$")
    page.keyboard.press("Enter")
    stale = page.get_by_test_id("stale")
    expect(stale).to_contain_text("Lønnsarter eller satser er endret siden søket")
    _tab_to(page, r"^\[rerun\]$")
    page.keyboard.press("Enter")
    expect(page.locator("#results-summary")).to_be_focused(timeout=30_000)
    expect(stale).to_have_count(0)

    # Space on a logbook's box: the list and lines are drawn again, the focus stays on that box.
    _tab_to(page, r"^INPUT:d-")
    value = _focused(page).removeprefix("INPUT:")
    page.keyboard.press("Space")
    expect(page.get_by_test_id("logbooks").locator(f"input[value='{value}']")).not_to_be_checked()
    expect(page.locator("#results[data-state=ready]")).to_be_attached(timeout=30_000)
    expect(page.locator("#results")).not_to_have_attribute("aria-busy", "true")
    page.wait_for_timeout(600)  # past the refresh that follows a change of the selection
    expect(page.locator("#results[data-state=ready]")).to_be_attached(timeout=30_000)
    assert _focused(page) == f"INPUT:{value}", _focused(page)
    page.keyboard.press("Space")
    page.wait_for_timeout(600)
    expect(page.locator("#results[data-state=ready]")).to_be_attached(timeout=30_000)
    assert _focused(page) == f"INPUT:{value}", _focused(page)

    # "Fjern disse kjørebøkene" on each problem: the focus goes to what is left (here: ready to export).
    for _ in range(2):
        _tab_to(page, r"^BUTTON:Fjern disse kjørebøkene")
        page.keyboard.press("Enter")
        expect(page.locator("#results-summary")).to_be_focused(timeout=30_000)
    expect(page.get_by_test_id("ready")).to_be_visible()
    # What was taken out is still unpaid, and the search says so.
    expect(page.get_by_test_id("not-selected")).to_contain_text("Nils Bakke")
    shot("tastatur klar")

    # The export: the dialog takes the focus; the export's page puts it on its heading.
    _tab_to(page, r"^\[export-button\]$")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("confirm-yes")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("^Eksport "), level=1)).to_be_focused()
    expect(page.locator("#export-detail")).to_have_attribute("data-status", "COMPLETED", timeout=60_000)
    # The clerk took two logbooks out: the export says whose km are still unpaid.
    expect(page.get_by_test_id("left-out")).to_contain_text("Nils Bakke")

    # Undo: the dialog opens on "Avbryt" (it deletes); after it ran the focus is on the new state's headline.
    _tab_to(page, r"^\[action-rollback\]$")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("confirm-no")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("confirm-yes")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#export-detail")).to_have_attribute("data-status", "ROLLED_BACK", timeout=60_000)
    expect(page.locator("#outcome-title")).to_be_focused()
    expect(page.locator("#outcome-title")).to_have_text("Eksporten er angret")
    shot("tastatur angret")
