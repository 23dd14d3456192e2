"""When PowerOffice Go fails during the push: rollback, retries, ambiguous creates and locked lines (SPEC 2.5)."""

from __future__ import annotations

import httpx

from local.stack import LocalStack
from tests.support import (
    ACME_KEY,
    OCTOBER,
    export_and_wait,
    good_logbooks,
    lock_all_lines,
    preview,
    salary_lines,
    set_faults,
)

PERSISTENT_500_ON_THIRD_LINE = {
    "method": "POST",
    "path": "/SalaryLines",
    "nth": 3,
    "times": 100,
    "status": 500,
}


def _planned(client: httpx.Client) -> tuple[list[str], int]:
    logbooks = good_logbooks(client)
    lines = preview(client, OCTOBER, logbooks)["lines"]
    assert len(lines) >= 3
    return logbooks, len(lines)


def test_a_persistent_push_failure_rolls_back_every_line_and_says_why(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks, _ = _planned(acme)
    set_faults(fresh, [PERSISTENT_500_ON_THIRD_LINE])

    record = export_and_wait(acme, OCTOBER, logbooks)

    assert record["status"] == "ROLLED_BACK", record
    assert salary_lines(fresh, ACME_KEY) == []
    assert "500" in record["error"]["message"]
    assert "salary line" in record["error"]["message"].lower()
    assert record["rollback"]["status"] == "ROLLED_BACK"
    assert record["rollback"]["deleted"] == 2
    assert record["rollback"]["left_behind"] == []
    assert len(record["lines"]) == record["line_count"] > 2  # the line that failed and those after it too
    assert [line["salary_line_id"] for line in record["lines"]] == [None] * record["line_count"]
    listed = acme.get("/exports").json()["exports"]
    assert [(e["export_id"], e["status"]) for e in listed] == [(record["export_id"], "ROLLED_BACK")]


def test_after_a_rollback_the_same_logbooks_can_be_exported_again(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks, planned = _planned(acme)
    set_faults(fresh, [PERSISTENT_500_ON_THIRD_LINE])
    assert export_and_wait(acme, OCTOBER, logbooks)["status"] == "ROLLED_BACK"
    set_faults(fresh, [])
    assert not any(logbook["already_exported"] for logbook in preview(acme, OCTOBER, logbooks)["logbooks"])

    record = export_and_wait(acme, OCTOBER, logbooks)

    assert record["status"] == "COMPLETED", record
    in_go = salary_lines(fresh, ACME_KEY)
    assert len(in_go) == planned
    assert sorted(line["Id"] for line in in_go) == sorted(line["salary_line_id"] for line in record["lines"])
    statuses = [e["status"] for e in acme.get("/exports").json()["exports"]]
    assert statuses == ["COMPLETED", "ROLLED_BACK"]


def test_a_transient_failure_is_retried_and_the_export_completes_with_exactly_the_planned_lines(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks, planned = _planned(acme)
    set_faults(fresh, [{"method": "POST", "path": "/SalaryLines", "nth": 2, "times": 1, "status": 503}])

    record = export_and_wait(acme, OCTOBER, logbooks)

    assert record["status"] == "COMPLETED", record
    in_go = salary_lines(fresh, ACME_KEY)
    assert len(in_go) == planned == record["line_count"]
    assert len({line["ExternalImportReference"] for line in in_go}) == planned


def test_a_failure_after_commit_does_not_create_a_duplicate_line(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks, planned = _planned(acme)
    # PowerOffice Go creates the third line, then answers 500: the client cannot know it was created.
    set_faults(
        fresh,
        [
            {
                "method": "POST",
                "path": "/SalaryLines",
                "nth": 3,
                "times": 1,
                "status": 500,
                "after_commit": True,
            }
        ],
    )

    record = export_and_wait(acme, OCTOBER, logbooks)

    assert record["status"] == "COMPLETED", record
    in_go = salary_lines(fresh, ACME_KEY)
    assert len(in_go) == planned
    assert len({line["ExternalImportReference"] for line in in_go}) == planned
    keys = [(line["EmployeeId"], line["PayItemId"], line["Rate"]) for line in in_go]
    assert len(set(keys)) == planned
    assert sorted(line["Id"] for line in in_go) == sorted(line["salary_line_id"] for line in record["lines"])


def test_lines_locked_in_a_payroll_are_named_when_the_rollback_cannot_delete_them(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks, _ = _planned(acme)
    lock_all_lines(fresh)  # every line is taken into a payroll the moment it is created
    set_faults(fresh, [PERSISTENT_500_ON_THIRD_LINE])

    record = export_and_wait(acme, OCTOBER, logbooks)

    assert record["status"] == "ROLLBACK_INCOMPLETE", record
    in_go = salary_lines(fresh, ACME_KEY)
    assert len(in_go) == 2 and all(line["IsLocked"] for line in in_go)
    left = record["rollback"]["left_behind"]
    assert sorted(item["salary_line_id"] for item in left) == sorted(line["Id"] for line in in_go)
    by_reference = {line["external_import_reference"]: line for line in record["lines"]}
    for item in left:
        assert "payroll" in item["reason"] and "locked" in item["reason"]
        assert item["employee_name"] and item["employee_number"] and item["pay_item_code"] and item["amount"]
        line_in_go = next(line for line in in_go if line["Id"] == item["salary_line_id"])
        assert (
            by_reference[line_in_go["ExternalImportReference"]]["employee_number"] == item["employee_number"]
        )
    assert "500" in record["error"]["message"]
    # The trips of lines left in PowerOffice Go stay claimed: exporting them again would pay twice.
    again = acme.post("/exports", json={**OCTOBER, "logbook_ids": logbooks})
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_EXPORTED"
