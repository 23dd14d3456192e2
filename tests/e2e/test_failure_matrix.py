"""The full failure matrix (make test-matrix): where in the push a fault hits, and what kind of fault.

Skipped in `make test`; the cases of the issue's test list are in test_push_failures.py.
"""

from __future__ import annotations

import httpx
import pytest

from local.stack import LocalStack

from .helpers import ACME_KEY, OCTOBER, export_and_wait, good_logbooks, preview, salary_lines, set_faults

pytestmark = pytest.mark.matrix

POSITIONS = ["first", "second", "last"]
FAULTS = {
    # name: (rule fields, expected status)
    "persistent-500": ({"times": 100, "status": 500}, "ROLLED_BACK"),
    "persistent-400": ({"times": 100, "status": 400}, "ROLLED_BACK"),
    "one-502": ({"times": 1, "status": 502}, "COMPLETED"),
    "one-429": ({"times": 1, "status": 429}, "COMPLETED"),
    "one-500-after-commit": ({"times": 1, "status": 500, "after_commit": True}, "COMPLETED"),
    "two-503-after-commit": ({"times": 2, "status": 503, "after_commit": True}, "COMPLETED"),
}


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_push_fault(fresh: LocalStack, acme: httpx.Client, fault: str, position: str) -> None:
    logbooks = good_logbooks(acme)
    planned = len(preview(acme, OCTOBER, logbooks)["lines"])
    nth = {"first": 1, "second": 2, "last": planned}[position]
    rule, expected = FAULTS[fault]
    set_faults(fresh, [{"method": "POST", "path": "/SalaryLines", "nth": nth, **rule}])

    record = export_and_wait(acme, OCTOBER, logbooks)

    assert record["status"] == expected, record
    in_go = salary_lines(fresh, ACME_KEY)
    if expected == "COMPLETED":
        assert len(in_go) == planned
        assert len({line["ExternalImportReference"] for line in in_go}) == planned
        assert sorted(line["Id"] for line in in_go) == sorted(
            line["salary_line_id"] for line in record["lines"]
        )
    else:
        assert in_go == []
        assert record["error"]["message"]
        assert record["rollback"]["left_behind"] == []
