"""A stopped run never writes again (issue 24): the local stack stops a run as AWS does, and every write a
step makes on an export's behalf lands only while the export is still in that run.

AWS marks a stopped execution ABORTED at once and sends its status-change event at once, while the Lambda
invocation of the task it was in runs on. moto used to mark it ABORTED only once that task returned, which hid
a stopped run's invocation writing after its end had been recorded: a Group claiming the trips of a FAILED
export for ever, a rollback deleting the lines a resume had just counted. Each test fails on the code before
the fence (and before the local stack stopped runs at once).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from abax_payroll import crashpoints
from abax_payroll.domain.lines import reference_prefix
from abax_payroll.errors import RunSuperseded
from abax_payroll.store.ledger import LedgerStore
from abax_payroll.store.lines import LineStore
from abax_payroll.workflow import ended
from local import lambda_runtime
from local.aws import FUNCTIONS, asl_definition
from local.stack import LocalStack
from tests.support import (
    OCTOBER,
    export_and_wait,
    good_logbooks,
    salary_lines,
    set_faults,
    start_export,
    wait_for_export,
)

EXPORT_STEPS = FUNCTIONS["ExportStepsFunctionArn"][0]
ROLLBACK = FUNCTIONS["RollbackFunctionArn"][0]


def _made_by(stack: LocalStack, export_id: str) -> list[dict[str, Any]]:
    prefix = reference_prefix(export_id)
    return [
        line for line in salary_lines(stack) if (line.get("ExternalImportReference") or "").startswith(prefix)
    ]


def _once_each(stack: LocalStack, export: dict[str, Any]) -> None:
    """Every planned line of a COMPLETED export is in Go exactly once."""
    assert export["status"] == "COMPLETED", export
    made = sorted(line["ExternalImportReference"] for line in _made_by(stack, export["export_id"]))
    assert made == sorted(line["external_import_reference"] for line in export["lines"])


def _aborted_at_once(stepfunctions: Any, execution_arn: str) -> None:
    """As in AWS: DescribeExecution says ABORTED within a second of StopExecution, whatever its task does."""
    stepfunctions.stop_execution(executionArn=execution_arn)
    deadline = time.monotonic() + 1.0
    while (status := stepfunctions.describe_execution(executionArn=execution_arn)["status"]) == "RUNNING":
        assert time.monotonic() < deadline, "the stopped run still says RUNNING a second after StopExecution"
        time.sleep(0.05)
    assert status == "ABORTED"


@pytest.fixture
def replace_handler() -> Iterator[Callable[[str, Callable[[Any, Any], Any]], Callable[[Any, Any], Any]]]:
    """Put a wrapper in place of a task function's handler (as the interpreter invokes it); the original back
    afterwards. Answers the original."""
    replaced: dict[str, Any] = {}

    def replace(name: str, wrapper: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        original = replaced.setdefault(name, lambda_runtime._registry[name])
        lambda_runtime._registry[name] = wrapper
        return original  # type: ignore[no-any-return]

    yield replace
    for name, original in replaced.items():
        lambda_runtime._registry[name] = original


def test_a_run_stopped_during_group_ends_at_once_and_its_group_claims_no_trips(
    fresh: LocalStack,
    acme: httpx.Client,
    stepfunctions: Any,
    replace_handler: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 24, sequence 3: stopped during Group, the export ended FAILED with Try again; Group then wrote the
    # ledger, and Try again answered 409 ALREADY_EXPORTED naming that FAILED export: trips stuck for ever.
    logbooks = good_logbooks(acme)
    in_group, release, group_done = threading.Event(), threading.Event(), threading.Event()
    put_line_chunks = LineStore.put_line_chunks

    def slow_group(store: LineStore, *args: Any) -> None:  # Group's invocation, held at its first write
        in_group.set()
        release.wait(30)
        put_line_chunks(store, *args)

    refused: list[BaseException] = []

    def watched(event: Any, context: Any) -> Any:
        try:
            return original(event, context)
        except RunSuperseded as error:
            refused.append(error)
            raise
        finally:
            if event.get("step") == "group":
                group_done.set()

    original = replace_handler(EXPORT_STEPS, watched)
    monkeypatch.setattr(LineStore, "put_line_chunks", slow_group)
    try:
        export_id = start_export(acme, OCTOBER, logbooks)
        assert in_group.wait(30), "Group never ran"
        _aborted_at_once(stepfunctions, acme.get(f"/exports/{export_id}").json()["execution_arn"])
        # The status-change event was delivered at once: the end is recorded while Group still runs.
        stopped = wait_for_export(acme, export_id, timeout=5)
        assert not group_done.is_set()
    finally:
        release.set()
    assert group_done.wait(30), "Group's invocation never finished"

    assert stopped["status"] == "FAILED", stopped
    assert stopped["error"]["problem_code"] == "RUN_STOPPED"
    assert "retry" in stopped["actions"]
    # Group ran on after the end was recorded, and its fenced write was refused: the record is as the stop left
    # it, and Try again pays every trip, once.
    assert len(refused) == 1, "Group's claim of the trips was not refused"
    assert acme.get(f"/exports/{export_id}").json()["status"] == "FAILED"
    _once_each(fresh, export_and_wait(acme, OCTOBER, logbooks))


def test_a_claim_of_group_landing_while_the_stopped_runs_end_is_written_leaves_no_trip_held(
    fresh: LocalStack, acme: httpx.Client, stepfunctions: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chaos seed 130: the run was stopped during Group. The end's handler listed the export's ledger items to
    # free them in the write that ends it (none yet); Group's fenced claim landed next (the export still ran);
    # then the end wrote FAILED: the trips were held by a FAILED export and Try again answered 409.
    logbooks = good_logbooks(acme)
    at_claim, claim_goes, claimed = threading.Event(), threading.Event(), threading.Event()
    put_ledger, deletes = LedgerStore.put_ledger, LedgerStore.deletes

    def group_claims_when_told(store: LedgerStore, *args: Any, **kwargs: Any) -> None:
        at_claim.set()
        claim_goes.wait(30)
        try:
            put_ledger(store, *args, **kwargs)
        finally:
            claimed.set()

    def claim_lands_after_the_list(store: LedgerStore, *args: Any, **kwargs: Any) -> Any:
        listed = deletes(store, *args, **kwargs)
        if at_claim.is_set() and not claim_goes.is_set():
            claim_goes.set()
            claimed.wait(30)
        return listed

    monkeypatch.setattr(LedgerStore, "put_ledger", group_claims_when_told)
    monkeypatch.setattr(LedgerStore, "deletes", claim_lands_after_the_list)
    try:
        export_id = start_export(acme, OCTOBER, logbooks)
        assert at_claim.wait(30), "Group never reached its claim"
        _aborted_at_once(stepfunctions, acme.get(f"/exports/{export_id}").json()["execution_arn"])
        assert claimed.wait(30), "Group's claim never ran"
        stopped = wait_for_export(acme, export_id, timeout=30)
    finally:
        claim_goes.set()
    monkeypatch.setattr(LedgerStore, "put_ledger", put_ledger)
    monkeypatch.setattr(LedgerStore, "deletes", deletes)

    assert stopped["status"] == "FAILED", stopped
    assert "retry" in stopped["actions"]
    _once_each(fresh, export_and_wait(acme, OCTOBER, logbooks))  # Try again pays every trip, once


def test_a_stopped_runs_rollback_deletes_to_its_end_before_the_export_moves_on(
    fresh: LocalStack, acme: httpx.Client, stepfunctions: Any
) -> None:
    # Issue 24, sequence 2: the push failed, the saga's rollback deleted slowly, the run was stopped; the end
    # was recorded at once (ROLLBACK_INCOMPLETE) and the clerk resumed (COMPLETED); the old rollback then wrote
    # ROLLED_BACK, freed the ledger and offered Try again while lines were in Go: Try again paid them twice.
    logbooks = good_logbooks(acme)
    set_faults(
        fresh,
        [
            {"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 400},
            {
                "method": "DELETE",
                "path": "/SalaryLines",
                "nth": 1,
                "times": 100,
                "status": None,
                "delay_s": 1.5,
            },
        ],
    )
    export_id = start_export(acme, OCTOBER, logbooks)
    deadline = time.monotonic() + 30
    made = 0
    while True:  # the rollback has begun deleting: one line gone, its answer still on the way
        now = len(_made_by(fresh, export_id))
        if made and now < made:
            break
        made = max(made, now)
        assert time.monotonic() < deadline, "the rollback never began deleting"
        time.sleep(0.05)
    execution_arn = acme.get(f"/exports/{export_id}").json()["execution_arn"]
    _aborted_at_once(stepfunctions, execution_arn)

    # While the stopped run's rollback may still delete, the export does not move on: no resume can count
    # lines that a late DELETE then removes.
    assert acme.get(f"/exports/{export_id}").json()["status"] == "RUNNING"
    assert acme.post(f"/exports/{export_id}/resume").status_code == 409
    ended = wait_for_export(acme, export_id, timeout=30)
    set_faults(fresh, [])

    assert ended["status"] == "ROLLED_BACK", ended
    assert _made_by(fresh, export_id) == []
    assert ended["actions"] == ["retry"]
    time.sleep(1.2)  # the stopped run's end event is delivered again meanwhile: it changes nothing now
    assert acme.get(f"/exports/{export_id}").json()["status"] == "ROLLED_BACK"
    _once_each(fresh, export_and_wait(acme, OCTOBER, logbooks))


def test_a_stopped_run_whose_rollback_begins_deleting_while_its_end_is_written_names_only_lines_in_go(
    fresh: LocalStack, acme: httpx.Client, stepfunctions: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chaos seed 74: the run was stopped just as its saga rollback began. The end's handler read the record (no
    # `deleting_until` yet) and listed Go; the rollback then wrote its deadline and deleted two lines; the end
    # was written naming them: ROLLBACK_INCOMPLETE naming 6 lines where Go held 4.
    logbooks = good_logbooks(acme)
    at_start, go_on = threading.Event(), threading.Event()

    def rollback_waits_at_its_start(point: str) -> None:
        if point == "rollback.started" and not go_on.is_set():
            at_start.set()
            go_on.wait(20)
        if local_stack_hook is not None:
            local_stack_hook(point)

    local_stack_hook = crashpoints.install(rollback_waits_at_its_start)
    listed = ended.lines_left_in_go

    def rollback_deletes_after_go_was_listed(*args: Any, **kwargs: Any) -> Any:
        answer = listed(*args, **kwargs)
        if not go_on.is_set():
            go_on.set()
            export_id = args[2].export_id
            deadline = time.monotonic() + 20
            while _made_by(fresh, export_id) and time.monotonic() < deadline:
                time.sleep(0.05)
        return answer

    monkeypatch.setattr(ended, "lines_left_in_go", rollback_deletes_after_go_was_listed)
    # The rollback writes its own outcome only once the end's handler wrote (or was refused): the order of chaos
    # seed 74, where the end landed between the rollback's DELETEs and its record.
    end_written, record_end, forget_created = threading.Event(), ended._record_end, LineStore.forget_created

    def end_then_signal(*args: Any, **kwargs: Any) -> Any:
        try:
            return record_end(*args, **kwargs)
        finally:
            end_written.set()

    def rollback_records_after_the_end(store: LineStore, *args: Any, **kwargs: Any) -> Any:
        if go_on.is_set():
            end_written.wait(20)
        return forget_created(store, *args, **kwargs)

    monkeypatch.setattr(ended, "_record_end", end_then_signal)
    monkeypatch.setattr(LineStore, "forget_created", rollback_records_after_the_end)
    try:
        set_faults(fresh, [{"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 400}])
        export_id = start_export(acme, OCTOBER, logbooks)
        assert at_start.wait(30), "the saga's rollback never began"
        assert len(_made_by(fresh, export_id)) == 2
        _aborted_at_once(stepfunctions, acme.get(f"/exports/{export_id}").json()["execution_arn"])
        assert go_on.wait(30), "the stopped run's end was never handled"
        record = wait_for_export(acme, export_id, timeout=30)
    finally:
        go_on.set()
        crashpoints.install(local_stack_hook)
        set_faults(fresh, [])

    in_go = sorted(line["Id"] for line in _made_by(fresh, export_id))
    named = sorted(item["salary_line_id"] for item in (record.get("rollback") or {}).get("left_behind", []))
    assert named == in_go, record
    assert record["status"] == ("ROLLED_BACK" if not in_go else "ROLLBACK_INCOMPLETE")


def test_an_export_whose_push_and_rollback_died_names_every_line_go_holds(
    fresh: LocalStack,
    acme: httpx.Client,
    chunk_size: Callable[[int], None],
    replace_handler: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 24, sequence 4: a push died after creating its lines and before writing their ids, then the saga's
    # rollback died three times: the export named the lines whose ids the record held, and Go had twice as many.
    chunk_size(2)
    logbooks = good_logbooks(acme)
    record_created = LineStore.record_created

    def push_dies_before_recording(
        store: LineStore, tenant_id: str, export_id: str, chunk: int, *args: Any, **kwargs: Any
    ) -> None:
        if chunk == 1:
            raise RuntimeError("the push's process died before it wrote the ids of its lines")
        record_created(store, tenant_id, export_id, chunk, *args, **kwargs)

    monkeypatch.setattr(LineStore, "record_created", push_dies_before_recording)

    def rollback_dies(event: Any, context: Any) -> Any:
        raise RuntimeError("the rollback's process died")

    original_rollback = replace_handler(ROLLBACK, rollback_dies)

    record = export_and_wait(acme, OCTOBER, logbooks)
    monkeypatch.setattr(LineStore, "record_created", record_created)
    lambda_runtime._registry[ROLLBACK] = original_rollback

    in_go = _made_by(fresh, record["export_id"])
    assert len(in_go) == 4, "two chunks of two lines were created, the second one's ids never recorded"
    assert record["status"] == "ROLLBACK_INCOMPLETE", record
    assert sorted(item["salary_line_id"] for item in record["rollback"]["left_behind"]) == sorted(
        line["Id"] for line in in_go
    )
    assert {item["reason_code"] for item in record["rollback"]["left_behind"]} == {"ROLLBACK_UNFINISHED"}
    # Named and written down, the rollback the export offers deletes them all.
    assert acme.post(f"/exports/{record['export_id']}/rollback").status_code == 202
    undone = wait_for_export(acme, record["export_id"])
    assert undone["status"] == "ROLLED_BACK", undone
    assert _made_by(fresh, record["export_id"]) == []


FENCED_TASKS = ("Validate", "Group", "Push", "Complete", "PrepareResume", "MarkFailed")


def test_a_superseded_step_ends_its_run_without_marking_failed_or_rolling_back() -> None:
    # A step whose export moved on raises RunSuperseded: caught ahead of any States.ALL (whose MarkFailed or
    # Rollback would write as the superseded run) and never retried; a superseded rollback answers SUPERSEDED.
    states = json.loads(asl_definition())["States"]
    assert states["Superseded"]["Type"] == "Fail"
    for name in FENCED_TASKS:
        state = states[name]
        assert state["Catch"][0] == {"ErrorEquals": ["RunSuperseded"], "Next": "Superseded"}, name
        retriers = [retrier for retrier in state.get("Retry", []) if "States.ALL" in retrier["ErrorEquals"]]
        if retriers:
            assert state["Retry"][0] == {"ErrorEquals": ["RunSuperseded"], "MaxAttempts": 0}, name
    choices = states["RollbackOutcome"]["Choices"]
    assert {"Variable": "$.rollback.status", "StringEquals": "SUPERSEDED", "Next": "Superseded"} in choices
