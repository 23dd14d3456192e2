"""The company hears of its scheduled export (issue 21, What to build 4): the addresses on its schedule get an
e-mail in Norwegian, with a link to the export, when it completes or cannot start; a refusal only the company
can fix is counted apart from the operators' failure alarm. The local stack records what SES would send
(`GET /_control/notifications`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from abax_payroll.workflow import schedule
from local.stack import LocalStack
from tests.support import OCTOBER, activate, export_and_wait, good_logbooks, map_codes, wait_for_export

DAY_5 = "2026-12-05T05:00:00Z"


def _sent_to(stack: LocalStack, address: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{stack.url}/_control/notifications", timeout=10)
    assert response.status_code == 200, response.text
    return [mail for mail in response.json()["notifications"] if address in mail["to"]]


def _schedule(client: httpx.Client, emails: list[str]) -> dict[str, Any]:
    response = client.put(
        "/schedule", json={"enabled": True, "day_of_month": 5, "notification_emails": emails}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_recipients_are_kept_on_the_schedule_and_checked(acme_admin: httpx.Client) -> None:
    assert _schedule(acme_admin, ["Lonn@Acme.no", "okonomi@acme.no"])["notification_emails"] == [
        "lonn@acme.no",
        "okonomi@acme.no",
    ]
    # A client that does not send the field keeps them.
    kept = acme_admin.put("/schedule", json={"enabled": False, "day_of_month": 7}).json()
    assert kept["notification_emails"] == ["lonn@acme.no", "okonomi@acme.no"]
    bad = acme_admin.put(
        "/schedule", json={"enabled": True, "day_of_month": 5, "notification_emails": ["lonn"]}
    )
    assert bad.status_code == 422 and "notification_emails" in bad.text


def test_a_start_the_company_must_fix_is_mailed_once_and_not_counted_as_a_failure(
    fresh: LocalStack, acme_admin: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[str] = []
    add_metric = schedule.metrics.add_metric
    monkeypatch.setattr(
        schedule.metrics, "add_metric", lambda name, **kw: (counted.append(name), add_metric(name=name, **kw))
    )
    _schedule(acme_admin, ["off@acme.no"])  # acme never switched the integration on

    fresh.run_schedule(DAY_5)
    fresh.run_schedule("2026-12-06T05:00:00Z")  # refused again the next day: no second e-mail

    (mail,) = _sent_to(fresh, "off@acme.no")
    (refused, _again) = acme_admin.get("/exports").json()["exports"]
    assert "november 2026" in mail["subject"] and "ikke startet" in mail["subject"]
    assert "PowerOffice Go-integrasjonen er ikke slått på" in mail["body"]
    assert f"{fresh.url}/#/exports/" in mail["body"]
    assert counted == ["ScheduledStartsRefused", "ScheduledStartsRefused"]
    assert refused["status"] == "FAILED"


def test_a_scheduled_export_that_completes_is_mailed_with_its_link_and_a_manual_one_is_not(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    _schedule(acme, ["lonn@acme.no"])
    assert export_and_wait(acme, OCTOBER, good_logbooks(acme))["status"] == "COMPLETED"
    assert _sent_to(fresh, "lonn@acme.no") == []  # a manual export: the user saw it end

    fresh.run_schedule(DAY_5)
    (started,) = [e for e in acme.get("/exports").json()["exports"] if e["trigger"] == "schedule"]
    export = wait_for_export(acme, started["export_id"])

    assert export["status"] == "COMPLETED", export
    (mail,) = _sent_to(fresh, "lonn@acme.no")
    assert mail["subject"] == "Kjøregodtgjørelse for november 2026 er sendt til PowerOffice Go"
    assert f"{export['line_count']} lønnslinjer" in mail["body"]
    assert f"{fresh.url}/#/exports/{export['export_id']}" in mail["body"]


def test_a_scheduled_export_stopped_by_validation_is_mailed_with_the_reason(
    fresh: LocalStack, acme_admin: httpx.Client
) -> None:
    activate(acme_admin)
    map_codes(acme_admin, {"mileage": "710"})  # tolls and parking have data but no pay item
    _schedule(acme_admin, ["stopp@acme.no"])

    fresh.run_schedule(DAY_5)
    (started,) = acme_admin.get("/exports").json()["exports"]
    assert wait_for_export(acme_admin, started["export_id"])["status"] == "VALIDATION_FAILED"

    (mail,) = _sent_to(fresh, "stopp@acme.no")
    assert "stoppet av kontrollen" in mail["subject"]
    assert "en kategori med data har ingen lønnsart" in mail["body"]
