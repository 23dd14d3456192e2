"""The failure matrix: for every position k of an N-line export and every fault, the export ends in exactly
one honest state, with PowerOffice Go and the export record agreeing line for line.

`make test` runs the positions 1, the middle and N; `make test-matrix` (MATRIX_FULL=1) runs every k.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from abax_payroll.domain.lines import reference_prefix
from abax_payroll.poweroffice import PowerOfficeClient
from abax_payroll.store import LineStore
from abax_payroll.workflow.rollback import RECOVERED_CHUNK
from abax_payroll.workflow.services import reset_services
from local.stack import LocalStack
from tests.support import acquire_stack, activate, api_client, export_and_wait, map_codes, release_stack

CLIENT_KEY = "acme-demo-client-key-7f3a"
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}
N = 13  # lines of October for the three drivers whose data is complete
CLIENT_TIMEOUT_S = 0.5
POSITIONS = list(range(1, N + 1)) if os.environ.get("MATRIX_FULL") else [1, (N + 1) // 2, N]

FAULTS: dict[str, dict[str, Any]] = {
    "persistent 5xx": {"times": 1000, "status": 500},
    "one transient 5xx": {"times": 1, "status": 503},
    "reply slower than the client's timeout": {"times": 1, "status": None, "delay_s": CLIENT_TIMEOUT_S + 0.7},
    "failure after commit": {"times": 1, "status": 500, "after_commit": True},
    "burst of 429s": {"times": 3, "status": 429},
}
EXPECTED = {
    "persistent 5xx": "ROLLED_BACK",
    "one transient 5xx": "COMPLETED",
    "reply slower than the client's timeout": "COMPLETED",
    "failure after commit": "COMPLETED",
    "burst of 429s": "COMPLETED",
}


OUTCOMES: list[dict[str, Any]] = []
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "matrix-outcomes.json"


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[None]:
    """Write how each run ended (fault, k, status) to test-artifacts/ for the closing note."""
    yield
    ARTIFACT.parent.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path = ARTIFACT.with_name(f"matrix-outcomes-{worker}.json")
    path.write_text(json.dumps({"n": N, "runs": OUTCOMES}, indent=1))


class LambdaCrashed(Exception):
    """The push function's process dies: whatever it had not written down is lost."""


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    stack = acquire_stack()
    os.environ["POWEROFFICE_TIMEOUT_S"] = str(CLIENT_TIMEOUT_S)
    reset_services()
    yield stack
    os.environ.pop("POWEROFFICE_TIMEOUT_S", None)
    reset_services()
    release_stack()


@pytest.fixture
def acme(stack: LocalStack) -> Iterator[httpx.Client]:
    stack.reset()
    _faults(stack, [])
    with api_client(stack, "acme", "payroll") as payroll, api_client(stack, "acme", "admin") as admin:
        activate(admin)
        map_codes(admin)
        yield payroll
    _faults(stack, [])


def _faults(stack: LocalStack, rules: list[dict[str, Any]]) -> None:
    httpx.post(f"{stack.url}/emulators/poweroffice/_control/faults", json={"rules": rules}).raise_for_status()


def _complete_logbooks(client: httpx.Client) -> list[str]:
    preview = client.post("/exports/preview", json=OCTOBER).json()
    return [
        lb["logbook_id"]
        for lb in preview["logbooks"]
        if lb["driver"]["employee_number"] in ("1001", "1002", "1003")
    ]


def _export(client: httpx.Client, logbooks: list[str]) -> dict[str, Any]:
    return export_and_wait(client, OCTOBER, logbooks)


def _check_invariants(stack: LocalStack, export: dict[str, Any]) -> list[dict[str, Any]]:
    """No duplicate; PowerOffice and the record agree on every line of this export."""
    prefix = reference_prefix(export["export_id"])
    in_go = [
        line
        for line in stack.poweroffice.salary_lines(CLIENT_KEY)
        if (line.get("ExternalImportReference") or "").startswith(prefix)
    ]
    references = [line["ExternalImportReference"] for line in in_go]
    assert len(references) == len(set(references)), "a salary line was created twice"
    claimed = {line["salary_line_id"] for line in export["lines"] if line["salary_line_id"] is not None}
    assert {line["Id"] for line in in_go} == claimed, "PowerOffice Go and the export record disagree"
    status = export["status"]
    case = os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[-1].split(" ")[0]
    OUTCOMES.append({"case": case, "status": status, "lines_in_go": len(in_go)})
    if status == "COMPLETED":
        assert len(in_go) == N
    elif status == "ROLLED_BACK":
        assert in_go == []
    elif status == "ROLLBACK_INCOMPLETE":
        left = {line["salary_line_id"] for line in export["rollback"]["left_behind"]}
        assert left == {line["Id"] for line in in_go} and left
        assert all(line["reason"] for line in export["rollback"]["left_behind"])
    else:
        raise AssertionError(f"unexpected status {status}: {export.get('error')}")
    return in_go


@pytest.mark.parametrize("k", POSITIONS)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_emulator_fault_at_position_k(stack: LocalStack, acme: httpx.Client, fault: str, k: int) -> None:
    logbooks = _complete_logbooks(acme)
    _faults(stack, [{"method": "POST", "path": "/SalaryLines", "nth": k, **FAULTS[fault]}])
    export = _export(acme, logbooks)
    assert export["status"] == EXPECTED[fault], export.get("error")
    assert export["line_count"] == N
    _check_invariants(stack, export)
    if export["status"] == "ROLLED_BACK":
        assert export["error"]["message"], "a rolled-back export says why"
        _faults(stack, [])
        assert _export(acme, logbooks)["status"] == "COMPLETED", "a rolled-back period can be exported again"


@pytest.mark.parametrize("k", POSITIONS)
def test_lines_locked_before_the_rollback_runs(stack: LocalStack, acme: httpx.Client, k: int) -> None:
    logbooks = _complete_logbooks(acme)
    httpx.post(f"{stack.url}/emulators/poweroffice/_control/lock", json={"all": True}).raise_for_status()
    _faults(stack, [{"method": "POST", "path": "/SalaryLines", "nth": k, "times": 1000, "status": 500}])
    export = _export(acme, logbooks)
    in_go = _check_invariants(stack, export)
    if k == 1:
        assert export["status"] == "ROLLED_BACK"
    else:
        assert export["status"] == "ROLLBACK_INCOMPLETE"
        # Every line the k - 1 POSTs before the failure created is still in Go: one POST per line, unless a POST
        # answered late was sent again (the retry finds its line by reference and creates none; a fresh-clone
        # run saw it once: 11 lines for k = 13).
        log = httpx.get(f"{stack.url}/emulators/poweroffice/_control/requests", timeout=30).json()["requests"]
        posts = [r["status"] for r in log if r["method"] == "POST" and r["path"].endswith("/SalaryLines")]
        assert len(in_go) == posts[: k - 1].count(201) >= k - 2
        assert all("locked" in line["reason"] for line in export["rollback"]["left_behind"])


@pytest.mark.parametrize("k", POSITIONS)
def test_push_function_dies_after_k_lines(
    stack: LocalStack, acme: httpx.Client, k: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    logbooks = _complete_logbooks(acme)
    state = {"created": 0, "crashed": False}
    create, record = PowerOfficeClient.create_salary_line, LineStore.record_created

    def dying_create(self: PowerOfficeClient, line: Any) -> Any:
        result = create(self, line)
        state["created"] += 1
        if state["created"] == k:
            state["crashed"] = True
            raise LambdaCrashed(f"the push process died after {k} lines")
        return result

    def lost_record(
        self: LineStore, tenant_id: str, export_id: str, chunk: int, created: Any, fence: Any = None
    ) -> None:
        if state["crashed"] and chunk != RECOVERED_CHUNK:
            return  # the batch in memory died with the process
        record(self, tenant_id, export_id, chunk, created, fence)

    monkeypatch.setattr(PowerOfficeClient, "create_salary_line", dying_create)
    monkeypatch.setattr(LineStore, "record_created", lost_record)
    export = _export(acme, logbooks)
    assert export["status"] == "ROLLED_BACK", export.get("error")
    assert "died" in export["error"]["message"]
    _check_invariants(stack, export)
