"""A way forward for every stuck export: rollback again, resume, and the ledger rule (issue 15 §1).

The ledger holds exactly the trips whose lines exist in PowerOffice Go: after an incomplete rollback the
drivers whose lines were never created are free again, the others stay blocked until a rollback (once Go
released the lines) or a resume (the left lines stay, the missing ones are made) settles the export.
"""

from __future__ import annotations

from typing import Any

import httpx

from local.stack import LocalStack
from tests.support import (
    ACME_KEY,
    OCTOBER,
    api_client,
    export_and_wait,
    good_logbooks,
    lock_all_lines,
    preview,
    salary_lines,
    set_faults,
    start_export,
    wait_for_export,
)

FAIL_FROM_THIRD_LINE = {"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 500}


def _control(stack: LocalStack, name: str, body: dict[str, Any]) -> None:
    response = httpx.post(f"{stack.url}/emulators/poweroffice/_control/{name}", json=body, timeout=10)
    assert response.status_code == 200, response.text


def _incomplete(stack: LocalStack, client: httpx.Client) -> tuple[list[str], dict[str, Any]]:
    """An export whose first two lines went into a payroll before the third failed: ROLLBACK_INCOMPLETE."""
    logbooks = good_logbooks(client)
    lock_all_lines(stack)
    set_faults(stack, [FAIL_FROM_THIRD_LINE])
    record = export_and_wait(client, OCTOBER, logbooks)
    assert record["status"] == "ROLLBACK_INCOMPLETE", record
    assert len(record["rollback"]["left_behind"]) == 2
    set_faults(stack, [])
    return logbooks, record


def _exported_drivers(client: httpx.Client, logbooks: list[str]) -> dict[str, bool]:
    return {
        logbook["driver"]["employee_number"]: logbook["already_exported"]
        for logbook in preview(client, OCTOBER, logbooks)["logbooks"]
        if logbook["logbook_id"] in logbooks
    }


def _act(client: httpx.Client, export_id: str, action: str) -> httpx.Response:
    return client.post(f"/exports/{export_id}/{action}")


def test_after_an_incomplete_rollback_only_the_trips_of_lines_left_in_go_stay_exported(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks, record = _incomplete(fresh, acme)
    left = {item["employee_number"] for item in record["rollback"]["left_behind"]}
    planned = {line["employee_number"] for line in record["lines"]}
    assert left and planned - left, "the demo export must leave some drivers without any created line"

    exported = _exported_drivers(acme, logbooks)

    assert {number for number, done in exported.items() if done} == left
    free_logbooks = [
        logbook["logbook_id"]
        for logbook in preview(acme, OCTOBER, logbooks)["logbooks"]
        if logbook["logbook_id"] in logbooks and not logbook["already_exported"]
    ]
    # A driver with no line in Go is exported on her own, once, without a 409.
    again = export_and_wait(acme, OCTOBER, free_logbooks)
    assert again["status"] == "COMPLETED", again
    assert {line["employee_number"] for line in again["lines"]} == planned - left
    assert acme.get(f"/exports/{record['export_id']}").json()["actions"] == ["rollback", "resume"]


def test_rollback_again_after_go_released_the_lines_deletes_them_and_frees_every_trip(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks, record = _incomplete(fresh, acme)
    export_id = record["export_id"]
    # Still in a payroll: the rollback names them again and changes nothing else.
    assert _act(acme, export_id, "rollback").status_code == 202
    still = wait_for_export(acme, export_id)
    assert still["status"] == "ROLLBACK_INCOMPLETE"
    assert sorted(i["salary_line_id"] for i in still["rollback"]["left_behind"]) == sorted(
        i["salary_line_id"] for i in record["rollback"]["left_behind"]
    )
    assert len(salary_lines(fresh, ACME_KEY)) == 2

    _control(fresh, "unlock", {"all": True})
    answer = _act(acme, export_id, "rollback")
    assert answer.status_code == 202 and answer.json() == {
        "export_id": export_id,
        "status": "RUNNING",
        "action": "rollback",
    }
    done = wait_for_export(acme, export_id)

    assert done["status"] == "ROLLED_BACK", done
    assert salary_lines(fresh, ACME_KEY) == []
    assert done["rollback"]["left_behind"] == [] and done["rollback"]["deleted"] == 2
    assert not any(_exported_drivers(acme, logbooks).values())
    assert "500" in done["error"]["message"]  # the first failure is still told
    assert done["undone_by"] is None  # a failed export rolled back again, not a completed one undone
    history = [(entry["action"], entry["outcome"], entry["by"]) for entry in done["history"]]
    assert history == [
        ("rollback", "ROLLBACK_INCOMPLETE", "system"),
        ("rollback", "STARTED", "admin@acme.example"),
        ("rollback", "ROLLBACK_INCOMPLETE", "admin@acme.example"),
        ("rollback", "STARTED", "admin@acme.example"),
        ("rollback", "ROLLED_BACK", "admin@acme.example"),
    ]
    assert all(entry["at"] for entry in done["history"])
    assert done["actions"] == ["retry"]
    # Idempotent: asking again changes nothing and starts nothing.
    repeat = _act(acme, export_id, "rollback")
    assert repeat.status_code == 200 and repeat.json()["status"] == "ROLLED_BACK"
    assert len(acme.get(f"/exports/{export_id}").json()["history"]) == len(done["history"])


def test_resume_keeps_the_lines_in_the_payroll_and_creates_the_missing_ones_once(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks, record = _incomplete(fresh, acme)
    export_id = record["export_id"]
    left_ids = sorted(item["salary_line_id"] for item in record["rollback"]["left_behind"])

    answer = _act(acme, export_id, "resume")
    assert answer.status_code == 202, answer.text
    done = wait_for_export(acme, export_id)

    assert done["status"] == "COMPLETED", done
    in_go = salary_lines(fresh, ACME_KEY)
    assert len(in_go) == done["line_count"] == len(done["lines"])
    assert len({line["ExternalImportReference"] for line in in_go}) == len(in_go)  # every line once
    assert sorted(line["Id"] for line in in_go) == sorted(line["salary_line_id"] for line in done["lines"])
    assert set(left_ids) <= {line["Id"] for line in in_go}  # the lines in the payroll were kept, not remade
    assert done["error"] is None and done["rollback"] is None
    assert [(e["action"], e["outcome"]) for e in done["history"][-2:]] == [
        ("resume", "STARTED"),
        ("resume", "COMPLETED"),
    ]
    assert done["history"][-1]["created"] == done["line_count"] - 2
    assert all(_exported_drivers(acme, logbooks).values())
    blocked = acme.post("/exports", json={**OCTOBER, "logbook_ids": logbooks})
    assert blocked.status_code == 409 and blocked.json()["code"] == "ALREADY_EXPORTED"
    repeat = _act(acme, export_id, "resume")
    assert repeat.status_code == 200 and repeat.json()["status"] == "COMPLETED"
    assert len(salary_lines(fresh, ACME_KEY)) == len(in_go)


def test_resume_is_refused_when_a_later_export_paid_the_freed_trips(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks, record = _incomplete(fresh, acme)
    free = [
        lb["logbook_id"]
        for lb in preview(acme, OCTOBER, logbooks)["logbooks"]
        if lb["logbook_id"] in logbooks and not lb["already_exported"]
    ]
    later = export_and_wait(acme, OCTOBER, free)
    assert later["status"] == "COMPLETED"
    lines_before = len(salary_lines(fresh, ACME_KEY))

    refused = _act(acme, record["export_id"], "resume")

    assert refused.status_code == 409 and refused.json()["code"] == "ALREADY_EXPORTED"
    assert later["export_id"] in refused.json()["detail"]
    assert len(salary_lines(fresh, ACME_KEY)) == lines_before
    assert acme.get(f"/exports/{record['export_id']}").json()["status"] == "ROLLBACK_INCOMPLETE"


def test_a_completed_export_is_undone_unless_a_line_is_in_a_payroll(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    record = export_and_wait(acme, OCTOBER, logbooks)
    assert record["status"] == "COMPLETED" and record["actions"] == ["rollback"]
    locked = record["lines"][0]["salary_line_id"]
    _control(fresh, "lock", {"salary_line_ids": [locked]})

    assert _act(acme, record["export_id"], "rollback").status_code == 202
    refused = wait_for_export(acme, record["export_id"])

    assert refused["status"] == "COMPLETED"
    assert len(salary_lines(fresh, ACME_KEY)) == record["line_count"]  # nothing else changed
    # The export still finished when it finished: the refused undo is in the history, not in "Ferdig".
    assert refused["finished_at"] == record["finished_at"], (refused["finished_at"], record["finished_at"])
    assert refused["undone_by"] is None
    last = refused["history"][-1]
    assert last["outcome"] == "REFUSED" and [item["salary_line_id"] for item in last["left_behind"]] == [
        locked
    ]
    assert last["left_behind"][0]["employee_name"] == record["lines"][0]["employee_name"]
    assert all(_exported_drivers(acme, logbooks).values())

    _control(fresh, "unlock", {"salary_line_ids": [locked]})
    assert _act(acme, record["export_id"], "rollback").status_code == 202
    undone = wait_for_export(acme, record["export_id"])
    assert undone["status"] == "ROLLED_BACK" and undone["rollback"]["deleted"] == record["line_count"]
    # Undone by a user, not failed: the list says who (a rollback after a failed push names nobody).
    assert undone["undone_by"] == "admin@acme.example" and undone["error"] is None
    listed = {e["export_id"]: e for e in acme.get("/exports").json()["exports"]}
    assert listed[record["export_id"]]["undone_by"] == "admin@acme.example"
    assert salary_lines(fresh, ACME_KEY) == []
    assert not any(_exported_drivers(acme, logbooks).values())


def test_recovery_is_refused_while_another_export_of_the_company_runs_and_is_tenant_scoped(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks, record = _incomplete(fresh, acme)
    free = [
        lb["logbook_id"]
        for lb in preview(acme, OCTOBER, logbooks)["logbooks"]
        if lb["logbook_id"] in logbooks and not lb["already_exported"]
    ]
    set_faults(
        fresh,
        [{"method": "POST", "path": "/SalaryLines", "nth": 1, "times": 1, "status": None, "delay_s": 3}],
    )
    running = start_export(acme, OCTOBER, free)

    for action in ("rollback", "resume"):
        busy = _act(acme, record["export_id"], action)
        assert busy.status_code == 409 and busy.json()["code"] == "EXPORT_IN_PROGRESS", busy.text
    with api_client(fresh, "beta", "admin") as beta:
        assert _act(beta, record["export_id"], "rollback").status_code == 404
    assert wait_for_export(acme, running)["status"] == "COMPLETED"
    assert acme.get(f"/exports/{record['export_id']}").json()["status"] == "ROLLBACK_INCOMPLETE"
    _control(fresh, "unlock", {"all": True})
    with api_client(fresh, "acme", "payroll") as payroll:  # payroll may use the actions, as admin may
        assert _act(payroll, record["export_id"], "rollback").status_code == 202
        done = wait_for_export(payroll, record["export_id"])
    assert done["status"] == "ROLLED_BACK" and done["history"][-1]["by"] == "payroll@acme.example"


def test_a_rollback_again_that_cannot_reach_go_ends_as_it_was_and_says_so(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    _, record = _incomplete(fresh, acme)
    export_id = record["export_id"]
    _control(fresh, "unlock", {"all": True})
    set_faults(fresh, [{"method": "GET", "path": "/SalaryLines", "nth": 1, "times": 10_000, "status": 503}])

    assert _act(acme, export_id, "rollback").status_code == 202
    failed = wait_for_export(acme, export_id, timeout=120)

    assert failed["status"] == "ROLLBACK_INCOMPLETE", failed
    assert len(salary_lines(fresh, ACME_KEY)) == 2  # nothing was deleted blind
    last = failed["history"][-1]
    assert (last["action"], last["outcome"], last["by"]) == (
        "rollback",
        "ROLLBACK_INCOMPLETE",
        "admin@acme.example",
    )
    set_faults(fresh, [])
    assert _act(acme, export_id, "rollback").status_code == 202
    assert wait_for_export(acme, export_id)["status"] == "ROLLED_BACK"
    assert salary_lines(fresh, ACME_KEY) == []
