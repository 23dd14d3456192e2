"""The rollback's rules, where they live: `rollback()` against the real store (moto) and PowerOffice Go emulator.

An export is set up the way Group and Push leave it (a RUNNING record, planned lines, created ids, the
ledger), one of its lines is created in Go without its id reaching the record, and one is locked in a payroll.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from abax_payroll import crashpoints
from abax_payroll.domain.lines import reference_prefix
from abax_payroll.domain.period import Period
from abax_payroll.errors import RunSuperseded
from abax_payroll.poweroffice import SalaryLinePost
from abax_payroll.records import ExportPeriod, ExportRecord, ExportStatus, PlannedLine
from abax_payroll.workflow.rollback import LOCKED_REASON, rollback
from abax_payroll.workflow.services import Services, services
from local.stack import LocalStack
from tests.support import salary_lines

EXPORT_ID = "20261101T000000000Z-0000beef"
OCTOBER = Period.parse("2026-10-01", "2026-10-31")
TRIPS = {"2026-10": ["trip-a", "trip-b"]}
FAILURE = {"Error": "PushFailed", "Cause": "PowerOffice Go refused line 4"}


def _pushed_export(services: Services) -> dict[int, int]:
    """Three lines created in Go: 0 and 1 recorded by the push, 2 only findable by its reference."""
    store = services.store
    store.exports.claim_export(
        ExportRecord(
            export_id=EXPORT_ID,
            tenant_id="acme",
            status=ExportStatus.RUNNING,
            period=ExportPeriod.of(OCTOBER),
            line_count=3,
            ledger_months=list(TRIPS),
        )
    )
    created: dict[int, int] = {}
    lines: list[PlannedLine] = []
    with services.poweroffice_for("acme") as poweroffice:
        pay_item = poweroffice.pay_items_by_codes(["710"])["710"]
        employees = poweroffice.employees_by_numbers(["1001", "1002", "1003"])
        for index, number in enumerate(("1001", "1002", "1003")):
            line = PlannedLine(
                index=index,
                employee_number=number,
                employee_name=employees[number].name,
                categories=["mileage"],
                pay_item_code="710",
                quantity="10.00",
                rate="5.30",
                amount="53.00",
                trip_count=1,
                employee_id=employees[number].id,
                pay_item_id=pay_item.id,
                ref=f"{reference_prefix(EXPORT_ID)}{index:012d}",
                comment="test",
                fields={"Quantity": "10.00", "Rate": "5.30"},
            )
            lines.append(line)
            posted = poweroffice.create_salary_line(
                SalaryLinePost(
                    employee_id=line.employee_id,
                    pay_item_id=line.pay_item_id,
                    quantity=Decimal("10.00"),
                    rate=Decimal("5.30"),
                    comment=line.comment,
                    external_import_reference=line.ref,
                )
            )
            created[index] = posted.id
    store.lines.put_line_chunks("acme", EXPORT_ID, [lines])
    store.lines.record_created("acme", EXPORT_ID, 0, {0: created[0], 1: created[1]})
    store.ledger.put_ledger("acme", EXPORT_ID, TRIPS)
    return created


def _in_go(stack: LocalStack) -> set[int]:
    return {
        line["Id"]
        for line in salary_lines(stack)
        if line["ExternalImportReference"].startswith(reference_prefix(EXPORT_ID))
    }


def _record(services: Services) -> ExportRecord:
    record = services.store.exports.get_export("acme", EXPORT_ID)
    assert record is not None
    return record


@pytest.fixture
def pushed(fresh: LocalStack, acme: httpx.Client) -> dict[int, int]:
    return _pushed_export(services())


def test_a_rollback_deletes_every_line_including_one_whose_id_was_never_recorded(
    fresh: LocalStack, pushed: dict[int, int]
) -> None:
    assert _in_go(fresh) == set(pushed.values())

    answer = rollback(services(), "acme", EXPORT_ID, FAILURE)

    assert answer == {"status": "ROLLED_BACK", "deleted": 3, "left_behind": 0}
    assert _in_go(fresh) == set()
    record = _record(services())
    assert record.status is ExportStatus.ROLLED_BACK
    assert record.rollback == {
        "status": "ROLLED_BACK",
        "deleted": 3,
        "left_behind": [],
        "left_behind_count": 0,
    }
    assert record.lines_pushed == 0
    assert record.error is not None and record.error.code == "PushFailed"
    assert record.error.message == "PushFailed: PowerOffice Go refused line 4"
    assert services().store.lines.get_created("acme", EXPORT_ID) == {}
    assert (
        services().store.ledger.exported_trips("acme", ["2026-10"]) == {}
    )  # the trips can be exported again


def test_a_locked_line_is_left_behind_with_its_reason_and_never_counted_as_deleted(
    fresh: LocalStack, pushed: dict[int, int]
) -> None:
    locked = pushed[1]
    httpx.post(
        f"{fresh.url}/emulators/poweroffice/_control/lock", json={"salary_line_ids": [locked]}, timeout=10
    ).raise_for_status()

    answer = rollback(services(), "acme", EXPORT_ID, FAILURE)

    assert answer == {"status": "ROLLBACK_INCOMPLETE", "deleted": 2, "left_behind": 1}
    assert _in_go(fresh) == {locked}
    record = _record(services())
    assert record.status is ExportStatus.ROLLBACK_INCOMPLETE
    assert record.lines_pushed == 1
    assert record.rollback is not None
    assert record.rollback["deleted"] == 2
    assert record.rollback["left_behind"] == [
        {
            "salary_line_id": locked,
            "employee_number": "1002",
            "employee_name": "Kari Hansen",
            "pay_item_code": "710",
            "amount": "53.00",
            "reason": LOCKED_REASON,
            "reason_code": "LOCKED",
        }
    ]
    # The record keeps exactly the line Go still has, and the ledger keeps its trips: they are paid.
    assert services().store.lines.get_created("acme", EXPORT_ID) == {1: locked}
    assert services().store.ledger.exported_trips("acme", ["2026-10"]) == dict.fromkeys(
        TRIPS["2026-10"], EXPORT_ID
    )


def test_a_second_rollback_of_a_finished_export_changes_nothing(
    fresh: LocalStack, pushed: dict[int, int]
) -> None:
    assert rollback(services(), "acme", EXPORT_ID, FAILURE)["status"] == "ROLLED_BACK"
    before: Any = _record(services()).stored()

    assert rollback(services(), "acme", EXPORT_ID, {"Error": "Other"}) == {"status": "ROLLED_BACK"}
    assert _record(services()).stored() == before


def test_a_rollback_whose_run_the_export_moved_on_from_deletes_nothing_and_writes_nothing(
    fresh: LocalStack, pushed: dict[int, int]
) -> None:
    # The saga's rollback of run 1 is under way when a resume (run 2) takes the export over, as when run 1 was
    # stopped, its end recorded and the clerk resumed: run 1 must leave Go, the record and the ledger to run 2.
    exports = services().store.exports
    exports.update_export("acme", EXPORT_ID, {"execution_arn": "arn:run-1"})

    def resume_takes_over(point: str) -> None:
        if point == "rollback.started":
            exports.update_export("acme", EXPORT_ID, {"execution_arn": "arn:run-2"})

    local_stack_hook = crashpoints.install(resume_takes_over)
    try:
        with pytest.raises(RunSuperseded):
            rollback(services(), "acme", EXPORT_ID, FAILURE, run="arn:run-1")
    finally:
        crashpoints.install(local_stack_hook)  # the local stack's crash control, for the tests after this

    assert _in_go(fresh) == set(pushed.values())  # not one DELETE
    record = _record(services())
    assert record.status is ExportStatus.RUNNING and record.execution_arn == "arn:run-2"
    assert services().store.lines.get_created("acme", EXPORT_ID) == {0: pushed[0], 1: pushed[1]}
    assert services().store.ledger.exported_trips("acme", ["2026-10"]) == dict.fromkeys(
        TRIPS["2026-10"], EXPORT_ID
    )
    # The run the export is in now rolls it back as any run would.
    assert rollback(services(), "acme", EXPORT_ID, FAILURE, run="arn:run-2")["status"] == "ROLLED_BACK"
    assert _in_go(fresh) == set()
