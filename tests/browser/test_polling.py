"""A running export's page asks the API less and less often (1 s, then 1.5 times longer, up to 5 s), and not at all
while the tab is hidden (issue 21 §6: open tabs at one request a second each took the stage's throttle)."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from .helpers import ACME_KEY, login, set_up_company

OLA = "d-1001:v-101:2026-10"


def _hidden(page: Page, hidden: bool) -> None:
    """What the browser does when the tab goes to the background or comes back."""
    page.evaluate(
        """(hidden) => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => hidden ? 'hidden' : 'visible' });
        document.dispatchEvent(new Event('visibilitychange'));
    }""",
        hidden,
    )


def test_a_running_export_is_polled_with_backoff_and_not_while_hidden(page: Page, fresh: Any) -> None:
    client = set_up_company(fresh, "acme", ACME_KEY)
    # The export's ABAX read answers after 12 s: it stays RUNNING (checking) for the whole test.
    slow = {"method": "GET", "path": "/v1/trips", "nth": 1, "times": 1, "delay_s": 12}
    answer = httpx.post(f"{fresh.url}/emulators/abax/_control/faults", json={"rules": [slow]}, timeout=10)
    assert answer.status_code == 200, answer.text
    started = client.post("/exports", json={"from": "2026-10-01", "to": "2026-10-31", "logbook_ids": [OLA]})
    assert started.status_code == 202, started.text
    export_id = started.json()["export_id"]
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if request.url.endswith(export_id) else None)
    login(page, "acme", "payroll")
    page.goto(f"{page.base_url}/#/exports/{export_id}")  # type: ignore[attr-defined]
    expect(page.locator("#export-detail[data-status=RUNNING]")).to_be_attached()
    _hidden(page, True)
    first = len(asked)

    page.wait_for_timeout(3000)
    assert len(asked) == first, f"{len(asked) - first} requests while the tab was hidden"

    _hidden(page, False)
    page.wait_for_timeout(500)
    assert len(asked) == first + 1, "the page did not look again when the tab came back"
    page.wait_for_timeout(4500)
    # Every second would be 4 or 5 more; with 1.5 s and then 2.25 s between them, 2.
    assert len(asked) - (first + 1) <= 2, f"{len(asked) - first - 1} requests in 4.5 s"
    expect(page.locator("#export-detail")).to_have_attribute("data-status", "RUNNING")
