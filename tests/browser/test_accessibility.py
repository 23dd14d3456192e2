"""axe-core (WCAG 2.1 A/AA) finds no serious or critical violation on any screen, in any state of an export,
in Norwegian and English, on a laptop (1366 px) and a phone (390 px) (issue 23).

One company is set up through the API with an export in each state a clerk can meet (completed, undo refused,
undone by a user, rolled back after a failure, partly rolled back, running); the screens are then visited by
address in one page, so the whole check costs a few page loads."""

from __future__ import annotations

import json
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.support import wait_for_export

from .conftest import set_faults
from .helpers import ACME_KEY, assert_accessible, login, set_up_company

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
OLA, KARI, PER = "d-1001:v-101", "d-1002:v-102", "d-1003:v-103"


def _control(stack: Any, name: str, body: dict[str, Any]) -> None:
    httpx.post(f"{stack.url}/emulators/poweroffice/_control/{name}", json=body, timeout=10).raise_for_status()


def _export(client: httpx.Client, month: str, logbook: str) -> dict[str, Any]:
    last = {"2026-10": "31", "2026-11": "30"}[month]
    answer = client.post(
        "/exports",
        json={"from": f"{month}-01", "to": f"{month}-{last}", "logbook_ids": [f"{logbook}:{month}"]},
    )
    assert answer.status_code == 202, answer.text
    return wait_for_export(client, answer.json()["export_id"])


def _undo(client: httpx.Client, export_id: str) -> dict[str, Any]:
    answer = client.post(f"/exports/{export_id}/rollback")
    assert answer.status_code in (200, 202), answer.text
    return wait_for_export(client, export_id)


def every_state(stack: Any) -> tuple[httpx.Client, dict[str, str]]:
    """An export in each state the detail page can show, by name."""
    client = set_up_company(stack, "acme", ACME_KEY)
    completed = _export(client, "2026-11", KARI)
    assert completed["status"] == "COMPLETED", completed
    refused = _export(client, "2026-11", OLA)
    _control(stack, "lock", {"salary_line_ids": [refused["lines"][0]["salary_line_id"]]})
    refused = _undo(client, refused["export_id"])
    assert refused["history"][-1]["outcome"] == "REFUSED", refused["history"]
    undone = _export(client, "2026-10", OLA)
    undone = _undo(client, undone["export_id"])
    assert undone["status"] == "ROLLED_BACK", undone
    set_faults(stack, [{"method": "POST", "path": "/SalaryLines", "nth": 2, "times": 100, "status": 500}])
    failed = _export(client, "2026-10", KARI)
    assert failed["status"] == "ROLLED_BACK", failed
    _control(stack, "lock", {"all": True})
    set_faults(stack, [{"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 500}])
    partly = _export(client, "2026-10", PER)
    assert partly["status"] == "ROLLBACK_INCOMPLETE", partly
    set_faults(stack, [])
    _control(stack, "unlock", {"all": True})
    return client, {
        "fullfort": completed["export_id"],
        "angring-avvist": refused["export_id"],
        "angret": undone["export_id"],
        "rullet-tilbake": failed["export_id"],
        "delvis-angret": partly["export_id"],
    }


def _visit(page: Page, address: str, ready: Any) -> None:
    page.evaluate("(hash) => { location.hash = hash; }", address)
    expect(ready).to_be_visible()


def test_no_serious_axe_violation_on_any_screen_or_state(page: Page, shot, fresh: Any) -> None:
    client, exports = every_state(fresh)
    found: dict[str, list[dict[str, Any]]] = {}
    login(page, "acme", "admin")
    main = page.get_by_role("main")
    screens = [
        ("integrasjoner", "#/integration", page.get_by_test_id("client-name")),
        ("lonnsarter", "#/codes", page.get_by_test_id("pay-item-parking")),
        ("satser", "#/rates", page.locator("tbody tr[data-in-force=true]").first),
        ("manedlig-eksport", "#/schedule", main.locator("form")),
        ("eksporthistorikk", "#/exports", page.get_by_test_id("exports")),
        *[
            (f"eksport-{name}", f"#/exports/{export_id}", page.locator("#export-detail[data-status]"))
            for name, export_id in exports.items()
        ],
        (
            "dokumentasjon",
            f"#/exports/{exports['fullfort']}/report",
            page.get_by_test_id("report-group").first,
        ),
    ]
    for width in (LAPTOP, PHONE):
        page.set_viewport_size(width)
        for language in ("nb", "en"):
            if language == "en":
                page.locator("#lang-switch").click()
                expect(page.locator("html")).to_have_attribute("lang", "en")
            where = f"{language} {width['width']}"
            for name, address, ready in screens:
                _visit(page, address, ready)
                assert_accessible(page, f"{where} {name}", found)
                if language == "nb" and name.startswith("eksport-"):
                    shot(f"nb-{width['width']}-{name}")
            # A search with problems (Nils has no employee number, Lise's is not in PowerOffice Go).
            _visit(page, "#/export/new", main.locator("form"))
            page.locator("#export-from").fill("2026-10-01")
            page.locator("#export-to").fill("2026-10-31")
            page.locator("#export-from").press("Enter")
            expect(page.locator("#results[data-state=ready]")).to_be_attached(timeout=30_000)
            expect(page.get_by_test_id("problems")).to_be_visible()
            assert_accessible(page, f"{where} sok-med-problemer", found)
            # The dialogs: deactivating asks first.
            _visit(page, "#/integration", page.get_by_test_id("client-name"))
            page.locator("#main button.danger").first.click()
            expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
            assert_accessible(page, f"{where} dialog", found)
            page.keyboard.press("Escape")
            if width is PHONE:
                page.get_by_role("button", name={"nb": "Meny", "en": "Menu"}[language]).click()
                expect(page.get_by_role("navigation")).to_be_visible()
                assert_accessible(page, f"{where} meny", found)
                page.keyboard.press("Escape")
        page.locator("#lang-switch").click()
        expect(page.locator("html")).to_have_attribute("lang", "nb")

    # A running export (each line answered late; Ola's October is free again after its undo).
    set_faults(fresh, [{"method": "POST", "path": "/SalaryLines", "nth": 1, "times": 100, "delay_s": 0.4}])
    answer = client.post(
        "/exports", json={"from": "2026-10-01", "to": "2026-10-31", "logbook_ids": [f"{OLA}:2026-10"]}
    )
    assert answer.status_code == 202, answer.text
    _visit(
        page, f"#/exports/{answer.json()['export_id']}", page.locator("#export-detail[data-status=RUNNING]")
    )
    assert_accessible(page, "nb 390 eksport-pagar", found)
    page.set_viewport_size(LAPTOP)
    assert_accessible(page, "nb 1366 eksport-pagar", found)
    assert not found, "axe found serious or critical violations:\n" + json.dumps(
        found, indent=1, ensure_ascii=False
    )
