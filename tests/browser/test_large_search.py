"""A search of a large company in the browser: API answers 202, the screen shows how far ABAX was read,
then the results (issue 16)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from abax_payroll.workflow.services import reset_services

from .helpers import login, nav, set_up_company

SLOW_ABAX = {"PREVIEW_INLINE_SECONDS": "0", "ABAX_PAGE_SIZE": "3", "FETCH_CALLS_PER_INVOCATION": "2"}


@pytest.fixture
def slow_abax() -> Iterator[None]:
    """No time for ABAX within the call, and the reading in many small pieces: the search answers 202."""
    saved = {name: os.environ.get(name) for name in SLOW_ABAX}
    os.environ.update(SLOW_ABAX)
    reset_services()
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_services()


def test_a_search_that_reads_abax_in_the_background_shows_progress_then_the_results(
    page: Page, fresh: Any, slow_abax: None
) -> None:
    set_up_company(fresh, "acme", "acme-demo-client-key-7f3a")
    login(page, "acme", "admin")
    nav(page, "Ny eksport")
    page.get_by_label("Fra dato").fill("2026-10-01")
    page.get_by_label("Til dato").fill("2026-10-31")
    page.get_by_role("button", name="Søk", exact=True).click()

    expect(page.get_by_role("status").filter(has_text="Leser turer fra ABAX")).to_be_visible(timeout=30_000)
    expect(page.locator("#results[data-state=ready]")).to_be_attached(timeout=120_000)
    expect(page.get_by_role("heading", name=re.compile(r"^Kjørebøker \(\d+\)"))).to_be_visible()
