"""Every signed-in screen in Norwegian and English, on a phone (390×844) and a laptop: no sideways scrolling, no
English service sentence and no internal key on a Norwegian screen, numbers and money in Norwegian format.

The company is set up through the API with one export of each ending (completed, undone, partly undone) and a
search whose logbooks have every kind of problem, so the problem and detail screens show all they can."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from .conftest import set_faults
from .helpers import ACME_KEY, export_through_api, login, search, set_up_company

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
OLA, KARI, PER = "d-1001:v-101:2026-10", "d-1002:v-102:2026-10", "d-1003:v-103:2026-10"

# What a Norwegian screen must never show: internal keys and values, English service words, unformatted money.
INTERNAL = [
    (re.compile(r"d-\d{3,}:v-\d+:\d{4}-\d{2}"), "a logbook key"),
    (re.compile(r"\bd-\d{3,}\b"), "a driver id"),
    (re.compile(r"\bv-\d{3,}\b"), "a vehicle id"),
    (
        re.compile(r"\b(heavy_load|forest_road|mileage|passenger|trailer|parking|ferry|toll)\b"),
        "a category key",
    ),
    (re.compile(r"ExpenseRefund|QuantityAndRate|SubjectToWithholdingTax"), "a processing type"),
    (re.compile(r"PushFailed|Sjåfør-id|\bt-acme-\d+"), "an internal name"),
    (re.compile(r"\b[A-Z]{2,}_[A-Z_]{2,}\b"), "a problem code"),
    (re.compile(r"\d{8}T\d{6}"), "an export id"),
    (re.compile(r"(?<![\d.-])\d{4}-\d{2}(-\d{2})?(?![\d-])"), "an ISO date or month key"),
    (re.compile(r"\b\d+\.\d{2}\s?(kr|NOK)\b"), "an amount not in Norwegian format"),
]
ENGLISH = re.compile(
    r"\b(the|not found|already|rolled back|refused|taken into|inactive in|is before|trips?|employee|"
    r"payroll|salary line|pay item|logbook)\b",
    re.IGNORECASE,
)


def _text(page: Page) -> str:
    """What the main area says, less the administrators' technical section (the export id and execution ARN
    are allowed there, lower down) and the dialog's fields that hold codes the user typed."""
    return page.evaluate(
        """() => {
        const main = document.getElementById('main').cloneNode(true);
        main.querySelectorAll('details.technical, input, select, datalist').forEach((el) => el.remove());
        return main.innerText || main.textContent;
    }"""
    )


def _assert_norwegian(page: Page, english_sentences: set[str], where: str) -> None:
    text = _text(page)
    for sentence in english_sentences:
        assert sentence not in text, (
            f"{where}: the service's English sentence is on a Norwegian screen: {sentence!r}"
        )
    for pattern, what in INTERNAL:
        found = pattern.search(text)
        assert not found, f"{where}: {what} on a Norwegian screen: {found.group(0)!r}"
    found = ENGLISH.search(text)
    assert not found, f"{where}: an English word on a Norwegian screen: {found.group(0)!r}"


def _no_sideways_scroll(page: Page, where: str) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth, document.body.scrollWidth]"
    )
    if widths[0] <= widths[1] and widths[2] <= widths[1]:
        return
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > innerWidth + 1)
            .slice(0, 8).map((el) => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`)"""
    )
    raise AssertionError(f"{where}: the page scrolls sideways {widths}; too wide: {wide}")


def _contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS rgb()/rgba() colours."""

    def luminance(css: str) -> float:
        red, green, blue = (int(part) / 255 for part in re.findall(r"[\d.]+", css)[:3])
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _focus_ring(page: Page, selector: str) -> tuple[str, str, str]:
    """The focused element's outline style and colour, and the colour of what it is drawn on."""
    return page.evaluate(
        """(selector) => {
        const el = document.querySelector(selector);
        el.focus({ focusVisible: true });
        const style = getComputedStyle(el);
        let behind = el.parentElement;
        while (behind && ['rgba(0, 0, 0, 0)', 'transparent'].includes(getComputedStyle(behind).backgroundColor)) behind = behind.parentElement;
        return [style.outlineStyle, style.outlineColor, getComputedStyle(behind || document.body).backgroundColor];
    }""",
        selector,
    )


def _english_of(value: Any, found: set[str]) -> set[str]:
    """Every English sentence the API sent (messages, details, reasons), to look for on the screen."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if (
                key in ("message", "detail", "reason", "error", "title")
                and isinstance(inner, str)
                and len(inner) > 12
            ):
                found.add(inner)
            else:
                _english_of(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _english_of(inner, found)
    return found


def _set_up(fresh: Any) -> tuple[httpx.Client, dict[str, str]]:
    client = set_up_company(fresh, "acme", ACME_KEY)
    done = export_through_api(client, [OLA])
    assert done["status"] == "COMPLETED", done
    set_faults(fresh, [{"method": "POST", "path": "/SalaryLines", "nth": 2, "times": 100, "status": 500}])
    undone = export_through_api(client, [KARI])
    assert undone["status"] == "ROLLED_BACK", undone
    set_faults(
        fresh,
        [
            {"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 500},
            {"method": "DELETE", "path": "/SalaryLines", "nth": 1, "times": 1000, "status": 400},
        ],
    )
    partly = export_through_api(client, [PER])
    assert partly["status"] == "ROLLBACK_INCOMPLETE", partly
    set_faults(fresh, [])
    # Problems of every kind on the search: an inactive pay item, tolls without one, drivers PowerOffice Go
    # does not know (the logbooks of Kari and Per are free again only after their undo; Per's is not).
    codes = client.get("/payroll-codes").json()["codes"]
    response = client.put("/payroll-codes", json={"codes": {**codes, "mileage": "730", "toll": None}})
    assert response.status_code == 200, response.text
    return client, {
        "completed": done["export_id"],
        "undone": undone["export_id"],
        "partly": partly["export_id"],
    }


def _screens(page: Page, exports: dict[str, str]) -> list[tuple[str, str, Any]]:
    """(name, address, what to wait for) of every signed-in screen."""
    main = page.get_by_role("main")
    return [
        ("integrasjoner", "#/integration", page.get_by_test_id("client-name")),
        ("lonnsarter", "#/codes", page.get_by_test_id("pay-item-parking")),
        ("satser", "#/rates", page.locator("tbody tr[data-in-force=true]").first),
        ("manedlig-eksport", "#/schedule", main.locator("form")),
        ("eksporthistorikk", "#/exports", page.get_by_test_id("exports")),
        ("eksport-fullfort", f"#/exports/{exports['completed']}", page.get_by_test_id("export-lines")),
        ("eksport-rullet-tilbake", f"#/exports/{exports['undone']}", page.get_by_test_id("rollback-message")),
        ("eksport-delvis-angret", f"#/exports/{exports['partly']}", page.get_by_test_id("left-behind")),
        (
            "dokumentasjon",
            f"#/exports/{exports['completed']}/report",
            page.get_by_test_id("report-group").first,
        ),
    ]


def test_every_screen_in_norwegian_and_english_on_a_phone_without_sideways_scroll(
    page: Page, shot, fresh
) -> None:
    client, exports = _set_up(fresh)
    english = set()
    for export_id in exports.values():
        english |= _english_of(client.get(f"/exports/{export_id}").json(), set())
    preview = client.post("/exports/preview", json={"from": "2026-10-01", "to": "2026-10-31"}).json()
    english |= _english_of(preview["problems"], set())
    assert len(english) > 5, english  # the check below has something to look for

    page.set_viewport_size(PHONE)
    login(page, "acme", "admin")
    # On a phone the menu is folded behind "Meny", and the language switch sits inside the top bar.
    nav = page.get_by_role("navigation")
    expect(nav).to_be_hidden()
    toggle = page.get_by_role("button", name="Meny")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    topbar = page.locator("header.topbar").bounding_box()
    switch = page.locator("#lang-switch").bounding_box()
    assert topbar and switch
    assert switch["x"] >= topbar["x"] and switch["x"] + switch["width"] <= min(
        topbar["x"] + topbar["width"], PHONE["width"]
    )
    assert switch["y"] >= topbar["y"] and switch["y"] + switch["height"] <= topbar["y"] + topbar["height"]
    toggle.click()
    expect(nav).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    shot("nb-390-meny")
    nav.get_by_role("link", name="Eksporthistorikk").click()
    expect(nav).to_be_hidden()  # following a link folds the menu again
    expect(page.get_by_role("heading", name="Eksporthistorikk", level=1)).to_be_visible()

    for language in ("nb", "en"):
        if language == "en":
            page.get_by_role("button", name="Switch to English").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")
        for name, address, ready in _screens(page, exports):
            page.goto(f"{page.base_url}/{address}")  # type: ignore[attr-defined]
            expect(ready).to_be_visible()
            _no_sideways_scroll(page, f"{language} {name} at 390 px")
            if language == "nb":
                _assert_norwegian(page, english, name)
            shot(f"{language}-390-{name}")

        # The search with every problem at once, and an empty period.
        page.goto(f"{page.base_url}/#/export/new")  # type: ignore[attr-defined]
        search(page, language=language)
        problems = page.get_by_test_id("problems")
        for code in (
            "PAY_ITEM_NOT_FOUND",
            "PAY_CODE_NOT_CONFIGURED",
            "EMPLOYEE_NUMBER_MISSING",
            "EMPLOYEE_NOT_FOUND",
        ):
            expect(problems.locator(f"li.problem[data-code={code}]")).to_be_visible()
        _no_sideways_scroll(page, f"{language} search at 390 px")
        if language == "nb":
            _assert_norwegian(page, english, "søk")
            expect(problems).to_contain_text("Lønnsart 730 «Gammel km-sats»")
            expect(problems).to_contain_text(re.compile(r"Bompenger: [\d\s]+,\d\d\skr på \d+ turer"))
            # Ola's logbook was exported: unticked and shown as exported (linked by date), not a problem.
            ola = page.get_by_test_id("logbooks").locator("tr.exported").filter(has_text="Ola Nordmann")
            expect(ola.get_by_role("checkbox")).not_to_be_checked()
            expect(ola).to_contain_text("Allerede eksportert")
            expect(ola.get_by_role("link")).to_have_text(
                re.compile(r"^eksporten \d{2}\.\d{2}\.\d{4},? \d{2}:\d{2}$")
            )
            expect(problems.locator("li.problem[data-code=ALREADY_EXPORTED]")).to_have_count(0)
        shot(f"{language}-390-sok-problemer")
        search(page, ("2025-03-01", "2025-03-31"), language)
        empty = page.get_by_test_id("empty")
        expect(empty).to_be_visible()
        expect(page.locator("#results .notice.bad")).to_have_count(0)
        shot(f"{language}-390-tom-periode")

    # A focus ring of at least 3:1 against what it is drawn on: in the page and in the dark top bar.
    page.keyboard.press("Tab")  # keyboard use: :focus-visible applies from here on
    for selector in ("#main a.button, #main button", "#lang-switch"):
        style, ring, behind = _focus_ring(page, selector)
        assert style != "none", (selector, style)
        assert _contrast(ring, behind) >= 3, (selector, ring, behind, _contrast(ring, behind))

    # An export is named by its period and start time; its id and execution are for admins, lower down.
    page.goto(f"{page.base_url}/#/exports/{exports['completed']}")  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Export 1 Oct 2026 – 31 Oct 2026$")
    )
    technical = page.get_by_test_id("technical")
    expect(technical).to_contain_text(exports["completed"])
    expect(technical).to_contain_text("arn:aws:states:")

    # The same Norwegian screens on a laptop.
    page.get_by_role("button", name="Bytt til norsk").click()
    page.set_viewport_size(LAPTOP)
    for name, address, ready in _screens(page, exports):
        page.goto(f"{page.base_url}/{address}")  # type: ignore[attr-defined]
        expect(ready).to_be_visible()
        _no_sideways_scroll(page, f"nb {name} at 1366 px")
        shot(f"nb-1366-{name}")


def test_errors_are_said_in_norwegian_from_their_codes(page: Page, shot, fresh) -> None:
    set_up_company(fresh, "acme", ACME_KEY)
    page.set_viewport_size(PHONE)
    login(page, "acme", "payroll")
    page.goto(f"{page.base_url}/#/export/new")  # type: ignore[attr-defined]
    search(page, ("2026-10-31", "2026-10-01"))
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Ugyldig periode")
    expect(alert).to_contain_text(
        re.compile(r"Til-datoen \(1\. okt\. 2026\) er før fra-datoen \(31\. okt\. 2026\)")
    )
    expect(alert).not_to_contain_text("is before")
    _no_sideways_scroll(page, "period error")
    shot("ugyldig-periode")

    page.goto(f"{page.base_url}/#/exports/20261001T120000000Z-0123abcd")  # type: ignore[attr-defined]
    expect(page.get_by_role("alert")).to_contain_text("Det finnes ingen slik eksport for dette firmaet.")
    _assert_norwegian(page, set(), "not found")
