"""Browser fixtures: Debian's Chromium driven by Playwright for Python against the local stack's web app.

Never `playwright install`: the browser is /usr/bin/chromium (apt), found by `executable_path`.
Each test gets a fresh company (stack.reset()) and a fresh browser context (a profile of its own) in the worker's
one Chromium; screenshots of each step go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# The set kept with the documentation: with DOCS_SCREENSHOTS=1 a step whose name is a file there
# ("nb-390-eksport-angret") writes it again (`DOCS_SCREENSHOTS=1 pytest -n 0 tests/browser/test_accessibility.py
# tests/browser/test_language_and_phone.py`); put a new file there to keep a new step.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=nb-NO",  # date inputs in Norwegian order (dd.mm.åååå), like a Norwegian user's browser
]
TERMINAL = {"COMPLETED", "VALIDATION_FAILED", "ROLLED_BACK", "ROLLBACK_INCOMPLETE", "FAILED"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _skip_reason() -> str | None:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return (
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); .ci/run does this"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session")
def stack() -> Iterator[Any]:
    """One local stack per process, shared with the e2e tests when they run in the same worker."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    try:
        from tests.support import acquire_stack, release_stack
    except ImportError:  # pragma: no cover - tests.support is the usual owner of the process's stack
        from local.stack import LocalStack

        own = LocalStack().start()
        yield own
        own.stop()
        return
    yield acquire_stack()
    release_stack()


def wait_idle(stack: Any, timeout: float = 60) -> None:
    """Let every export end, so that none writes into the next test's fresh company."""
    from local.auth import mint_token

    deadline = time.monotonic() + timeout
    for tenant in ("acme", "beta"):
        headers = {"Authorization": f"Bearer {mint_token(tenant, 'admin')}"}
        while time.monotonic() < deadline:
            response = httpx.get(
                f"{stack.url}/v1/exports", params={"limit": 100}, headers=headers, timeout=30
            )
            if response.status_code != 200 or all(
                e["status"] not in ("RUNNING",) for e in response.json()["exports"]
            ):
                break
            time.sleep(0.2)


def set_faults(stack: Any, rules: list[dict[str, Any]]) -> None:
    response = httpx.post(
        f"{stack.url}/emulators/poweroffice/_control/faults", json={"rules": rules}, timeout=10
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def fresh(stack: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    wait_idle(stack)
    stack.reset()
    set_faults(stack, [])
    # Each company's admin has connected ABAX with its own API client (through the API: these tests are
    # about the PowerOffice Go side of the web app), unless the test connects it through the app itself
    # (marker abax_not_connected).
    from local.auth import mint_token

    connected = () if request.node.get_closest_marker("abax_not_connected") else ("acme", "beta")
    for tenant in connected:
        client_id, client_secret = stack.abax.credentials(tenant)
        answer = httpx.post(
            f"{stack.url}/v1/integrations/abax/activate",
            json={"client_id": client_id, "client_secret": client_secret},
            headers={"Authorization": f"Bearer {mint_token(tenant, 'admin')}"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
    yield stack
    wait_idle(stack)
    set_faults(stack, [])


class _Chromium:
    """One Chromium for the browser tests a worker runs in a row (its start takes about a second); every test
    opens a context of its own in it, which is a fresh profile (no cookies, storage or cache of another)."""

    def __init__(self, playwright: Any):
        self._playwright = playwright
        self._browser: Any = None

    def browser(self) -> Any:
        if self._browser is None or not self._browser.is_connected():  # a test that crashed it: start again
            self._browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        return self._browser

    def close(self) -> None:
        if self._browser is not None and self._browser.is_connected():
            self._browser.close()


@pytest.fixture(scope="package")
def chromium() -> Iterator[_Chromium]:
    """Package-scoped, not session-scoped: Playwright's sync API holds an event loop in this thread while it is
    started, so it is stopped before the worker runs tests of another folder."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browsers = _Chromium(playwright)
        try:
            yield browsers
        finally:
            browsers.close()


@pytest.fixture
def page(fresh: Any, chromium: _Chromium, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh browser context (a profile of its own), Norwegian by default, on the stack's web app."""
    context = chromium.browser().new_context(
        viewport={"width": 1366, "height": 900},
        locale="nb-NO",
        timezone_id="Europe/Oslo",
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    the_page = context.new_page()
    errors: list[str] = []
    console: list[str] = []
    the_page.on("pageerror", lambda error: errors.append(str(error)))
    the_page.on("console", lambda message: _console_error(message, console))
    the_page.base_url = fresh.url  # type: ignore[attr-defined]
    the_page.js_errors = errors  # type: ignore[attr-defined]
    try:
        yield the_page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not console, f"errors in the browser console: {console}"


def _console_error(message: Any, found: list[str]) -> None:
    """Console errors fail the test (an invalid `pattern`, a missing favicon...). Chromium also logs every
    4xx answer of a fetch as an error: the API's own 4xx answers are the app's business (it shows them)."""
    if message.type != "error":
        return
    url = (message.location or {}).get("url", "")
    if "/v1/" in url and re.search(r"status of 4\d\d", message.text):
        return
    found.append(f"{message.text} ({url})")


class Shots:
    """Numbered screenshots of one test's steps."""

    def __init__(self, page: Any, prefix: str):
        self.page, self.prefix, self.count = page, prefix, 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> Path:
        self.count += 1
        path = (
            SCREENSHOTS
            / f"{self.prefix}-{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png"
        )
        self.page.screenshot(path=str(path), full_page=True)
        kept = DOCS_SCREENSHOTS / f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png"
        if os.environ.get("DOCS_SCREENSHOTS") == "1" and kept.is_file():
            shutil.copyfile(path, kept)
        return path


@pytest.fixture
def shot(page: Any, request: pytest.FixtureRequest) -> Shots:
    return Shots(page, request.node.name.removeprefix("test_"))
