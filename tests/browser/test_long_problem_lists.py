"""An export whose problem names more drivers than its record keeps: the detail shows the first of them, says how
many there are, and "Vis alle" reads the rest page by page (issue 16)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.support import export_and_wait

from .helpers import login, set_up_company

AUGUST = {"from": "2026-08-01", "to": "2026-08-31"}
DRIVERS = 1500  # more than one page of 1,000 items and far more than the record's 20


def _trips() -> list[dict[str, Any]]:
    trips = []
    for n in range(DRIVERS):
        at = f"2026-08-{1 + n % 28:02d}T08:{n % 60:02d}:00Z"
        trips.append(
            {
                "id": f"nonumber-{n:05d}",
                "vehicle": {"id": f"veh-{n:05d}", "alias": "Egen bil", "commercial_class": "Private"},
                "driver": {"id": f"drv-{n:05d}", "external_id": None, "name": f"Sjåfør {n:05d}"},
                "start": {
                    "location": {"latitude": 59.9, "longitude": 10.7, "timestamp": at},
                    "address": "Oslo",
                },
                "finish": {
                    "location": {"latitude": 59.7, "longitude": 10.2, "timestamp": at},
                    "address": "Drammen",
                },
                "distance": 41.3,
                "purpose": "Kundebesøk",
                "commercial_class": "BusinessTrip",
            }
        )
    return trips


def test_all_drivers_of_a_long_problem_can_be_shown(page: Page, fresh: Any, shot) -> None:
    client = set_up_company(fresh, "acme", "acme-demo-client-key-7f3a")
    fresh.abax.add_data("acme", _trips(), [])
    record = export_and_wait(client, AUGUST, None)
    assert record["status"] == "VALIDATION_FAILED"

    login(page, "acme", "payroll")
    page.goto(f"{page.base_url}/#/exports/{record['export_id']}")  # type: ignore[attr-defined]
    problem = page.locator("li.problem[data-code=EMPLOYEE_NUMBER_MISSING]")
    expect(problem.locator("ul li")).to_have_count(20)
    expect(problem.get_by_test_id("more-items")).to_contain_text("Viser de første 20 av 1\u00a0500.")
    expect(problem).to_contain_text("Sjåfør 00000")
    shot("lang problemliste, de første")

    problem.get_by_role("button", name="Vis alle 1\u00a0500").click()
    whole = page.locator("li.problem[data-code=EMPLOYEE_NUMBER_MISSING]")
    expect(whole.locator("ul li")).to_have_count(DRIVERS)
    expect(whole).to_contain_text("Sjåfør 01499")
    expect(whole.get_by_test_id("more-items")).to_have_count(0)
