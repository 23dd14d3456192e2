"""Steps a person takes in the web app, and the API shortcuts tests use to set a company up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.support import ACME_KEY, ALL_CODES, BETA_KEY, export_and_wait

__all__ = ["ACME_KEY", "ALL_CODES", "BETA_KEY"]
OCTOBER = ("2026-10-01", "2026-10-31")


def login(page: Page, tenant: str = "acme", role: str = "admin") -> None:
    page.goto(f"{page.base_url}/")  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", name="Utviklerinnlogging")).to_be_visible()
    page.get_by_label("Firma", exact=True).fill(tenant)
    page.get_by_label("Rolle").select_option(role)
    page.get_by_role("button", name="Logg inn").click()
    expect(page.get_by_test_id("who")).to_contain_text(tenant)


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def api(stack: Any, tenant: str, role: str = "admin") -> httpx.Client:
    from local.auth import mint_token

    token = mint_token(tenant, role)
    return httpx.Client(base_url=f"{stack.url}/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60)


def set_up_company(stack: Any, tenant: str, key: str) -> httpx.Client:
    """Integration active and every category mapped, through the API."""
    client = api(stack, tenant)
    response = client.post("/integrations/poweroffice/activate", json={"client_key": key})
    assert response.status_code == 200, response.text
    response = client.put("/payroll-codes", json={"codes": ALL_CODES})
    assert response.status_code == 200, response.text
    return client


def export_through_api(client: httpx.Client, logbook_ids: list[str]) -> dict[str, Any]:
    return export_and_wait(client, {"from": OCTOBER[0], "to": OCTOBER[1]}, logbook_ids)


SEARCH_WORDS = {"nb": ("Fra dato", "Til dato", "Søk"), "en": ("From date", "To date", "Search")}


def search(page: Page, period: tuple[str, str] = OCTOBER, language: str = "nb") -> None:
    """Ny eksport: fill the dates and press Søk; waits for the results."""
    start, end, button = SEARCH_WORDS[language]
    page.get_by_label(start).fill(period[0])
    page.get_by_label(end).fill(period[1])
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.locator("#results[data-state=ready]")).to_be_attached(timeout=30_000)


def start_export(page: Page) -> None:
    """The export button says what it transfers and asks first; "Overfør" in the app's own dialog starts it."""
    button = page.get_by_test_id("export-button")
    expect(button).to_have_text(re.compile(r"^Overfør \d+ lønnslinjer, [\d\s\u00a0]+,\d\d\s?kr$"))
    button.click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Overføre til PowerOffice Go?")
    dialog.get_by_role("button", name="Overfør", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^Eksport "), level=1)).to_be_visible()


def wait_results(page: Page) -> None:
    expect(page.locator("#results[data-state=ready]")).to_be_attached(timeout=30_000)


# axe-core from npm (tests/browser/package.json, pinned by its lockfile; `make test` runs `npm ci` for it).
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe's serious and critical violations of WCAG 2.1 A/AA on what the page shows now."""
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci --prefix tests/browser` (make test does)"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """async (tags) => {
        const answer = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
        return answer.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 4).map((n) => `${n.target.join(' ')}: ${(n.failureSummary || '').split('\\n').slice(1, 2).join('')}`),
        }));
    }""",
        AXE_TAGS,
    )
    return list(results)


def assert_accessible(page: Page, where: str, found: dict[str, list[dict[str, Any]]]) -> None:
    """Collect the violations of one screen (the test reports every screen's at once)."""
    violations = axe_violations(page)
    if violations:
        found[where] = violations
