"""A changed key must never strand lines: 409 while an export runs, the rollback with the creating key, 404s confirmed.

The reported scenario: an admin re-activated with another company's client key while an export pushed.
The rollback then ran with the new key, every DELETE answered 404, 404 counted as "already gone", the export
said ROLLED_BACK and freed its trips while its lines stayed in the first company: exporting again paid twice.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import httpx

from local.stack import LocalStack
from tests.support import (
    ACME_KEY,
    BETA_KEY,
    OCTOBER,
    good_logbooks,
    preview,
    salary_lines,
    set_faults,
    start_export,
    wait_for_export,
)

SECRET_NAME = "abax-payroll/client-keys/acme"
STALL_S = 3.0
# The third POST answers late and then 500, and every POST after it 500: the push fails while two lines
# exist, and the stall leaves time to act in the middle of it.
STALLED_THEN_FAILING = [
    {"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 1, "status": 500, "delay_s": STALL_S},
    {"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 500},
]


def _export_in_the_middle_of_its_push(stack: LocalStack, acme: httpx.Client) -> str:
    logbooks = good_logbooks(acme)
    assert len(preview(acme, OCTOBER, logbooks)["lines"]) >= 3
    set_faults(stack, STALLED_THEN_FAILING)
    export_id = start_export(acme, OCTOBER, logbooks)
    deadline = time.monotonic() + 30
    while len(salary_lines(stack, ACME_KEY)) < 2:
        assert time.monotonic() < deadline, "the push never created its first lines"
        time.sleep(0.05)
    return export_id


def _another_activation_wins_the_race(stack: LocalStack, client_key: str, *, new_secret: bool) -> None:
    """What a key change that passed its check a moment before the export started does underneath."""
    secrets = boto3.client("secretsmanager")
    if new_secret:  # switched off (the secret forgotten) and activated again with another key
        secrets.delete_secret(SecretId=SECRET_NAME, ForceDeleteWithoutRecovery=True)
        secrets.create_secret(Name=SECRET_NAME, SecretString=client_key)
    else:
        secrets.put_secret_value(SecretId=SECRET_NAME, SecretString=client_key)


def _left_behind_ids(record: dict[str, Any]) -> list[int]:
    return sorted(item["salary_line_id"] for item in record["rollback"]["left_behind"])


def _trips_of_left_lines_stay_taken(client: httpx.Client, record: dict[str, Any]) -> None:
    """The trips of lines still in Go are not freed: exporting them again would pay them twice."""
    employees = {item["employee_number"] for item in record["rollback"]["left_behind"]}
    assert employees
    logbooks = [
        lb for lb in preview(client, OCTOBER)["logbooks"] if lb["driver"]["employee_number"] in employees
    ]
    assert logbooks and all(logbook["already_exported"] for logbook in logbooks)


def test_activation_and_deactivation_answer_409_while_an_export_runs(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    export_id = _export_in_the_middle_of_its_push(fresh, acme)

    switched = acme.post("/integrations/poweroffice/activate", json={"client_key": BETA_KEY})
    off = acme.post("/integrations/poweroffice/deactivate")

    for answer in (switched, off):
        assert answer.status_code == 409, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "EXPORT_IN_PROGRESS" and export_id in answer.json()["detail"]
    assert acme.get("/integrations/poweroffice").json()["client_name"] == "Acme Transport AS"
    record = wait_for_export(acme, export_id)
    assert record["status"] == "ROLLED_BACK", record
    assert salary_lines(fresh, ACME_KEY) == []
    # Once the export has ended, the key can change again.
    assert acme.post("/integrations/poweroffice/activate", json={"client_key": ACME_KEY}).status_code == 200


def test_the_rollback_deletes_with_the_key_the_lines_were_created_with(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    export_id = _export_in_the_middle_of_its_push(fresh, acme)
    _another_activation_wins_the_race(fresh, BETA_KEY, new_secret=False)

    record = wait_for_export(acme, export_id)

    assert record["status"] == "ROLLED_BACK", record
    assert salary_lines(fresh, ACME_KEY) == []  # deleted in Acme's PowerOffice Go, where they were created
    assert salary_lines(fresh, BETA_KEY) == []  # and nothing was ever written to the other company
    assert record["rollback"]["deleted"] >= 2


def test_when_the_creating_key_is_gone_the_lines_are_named_and_the_trips_stay_taken(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    export_id = _export_in_the_middle_of_its_push(fresh, acme)
    _another_activation_wins_the_race(fresh, BETA_KEY, new_secret=True)

    record = wait_for_export(acme, export_id)

    in_acme = salary_lines(fresh, ACME_KEY)
    assert record["status"] == "ROLLBACK_INCOMPLETE", record
    assert len(in_acme) >= 2 and _left_behind_ids(record) == sorted(line["Id"] for line in in_acme)
    for item in record["rollback"]["left_behind"]:
        assert "key" in item["reason"] and item["employee_number"] and item["pay_item_code"]
    _trips_of_left_lines_stay_taken(acme, record)


def test_a_404_on_a_line_that_is_still_there_is_not_counted_as_deleted(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    set_faults(
        fresh,
        [
            {"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 500},
            # PowerOffice Go (or a proxy before it) answers 404 to every DELETE, yet the lines stay.
            {"method": "DELETE", "path": "/SalaryLines", "nth": 1, "times": 100, "status": 404},
        ],
    )

    record = wait_for_export(acme, start_export(acme, OCTOBER, logbooks))

    in_acme = salary_lines(fresh, ACME_KEY)
    assert record["status"] == "ROLLBACK_INCOMPLETE", record
    assert len(in_acme) >= 2 and _left_behind_ids(record) == sorted(line["Id"] for line in in_acme)
    assert all("404" in item["reason"] for item in record["rollback"]["left_behind"])
    _trips_of_left_lines_stay_taken(acme, record)


def test_a_single_wrong_404_is_checked_and_the_line_deleted_after_all(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    set_faults(
        fresh,
        [
            {"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 500},
            {"method": "DELETE", "path": "/SalaryLines", "nth": 1, "times": 1, "status": 404},
        ],
    )

    record = wait_for_export(acme, start_export(acme, OCTOBER, logbooks))

    assert record["status"] == "ROLLED_BACK", record
    assert salary_lines(fresh, ACME_KEY) == []
