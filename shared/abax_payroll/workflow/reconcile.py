"""The reconciliation sweep: no export stays RUNNING because an event was lost or a start died.

EventBridge delivers Step Functions' status-change events best effort, and a start can die between claiming
the export and StartExecution: either way the record would say RUNNING for ever and hold the company's lock.
Every few minutes (EventBridge Scheduler) this looks at the tenants' locks taken since it last looked (a
sparse index, never a Scan), and for each export still RUNNING asks Step Functions (DescribeExecution):

- its run ended (ABORTED, TIMED_OUT, FAILED): ended as the run-ended rule would have (workflow/ended.py,
  same outcome and ways forward; whichever comes second finds the record finished and changes nothing);
- its run never started and the claim is older than `NEVER_STARTED_AFTER_S`: ended the same way, as a run
  stopped before it sent anything (FAILED, its trips free: "Try again");
- its run still runs: left alone. A lock whose export has ended leaves the index.

Each export it ends counts `ExportsReconciled` (alarmed: a lost event or a dead start is worth a look).
"""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..observability import logger, metrics
from .services import Services

# A start claims the export, then calls StartExecution within its invocation (API 29 s, scheduled start 2
# minutes): a claim this old without a run will never get one.
NEVER_STARTED_AFTER_S = 5 * 60


def reconcile(services: Services) -> dict[str, Any]:
    """Look at every lock in the sweep's index once; what was ended, still runs, or was let go."""
    found: dict[str, list[Any]] = {"ended": [], "running": [], "released": []}
    for lock in services.store.exports.locks_to_reconcile():
        tenant_id, export_id = lock["tenant_id"], lock["export_id"]
        record = services.store.exports.get_export(tenant_id, export_id, consistent=True)
        if record is None:  # a claim that died between its two writes: the lock lapses by itself
            if time.time() - lock["claimed_at"] > NEVER_STARTED_AFTER_S:
                services.store.exports.reconciled(tenant_id, export_id)
            continue
        if not record.running:
            services.store.exports.reconciled(tenant_id, export_id)
            found["released"].append(export_id)
            continue
        detail = _detail(services, record.execution_arn, lock, tenant_id, export_id)
        if detail is None:
            found["running"].append(export_id)
            continue
        from . import ended  # see _detail

        try:
            outcome = ended.execution_ended(services, detail)
        except (
            ended.RunStillPushing,
            ended.RunStillDeleting,
        ):  # its chunk still pushes, or its rollback deletes: the next sweep ends it
            found["running"].append(export_id)
            continue
        if outcome.get("outcome") in ("FAILED", "ROLLBACK_INCOMPLETE"):
            metrics.add_metric(name="ExportsReconciled", unit=MetricUnit.Count, value=1)
            logger.warning(
                "export ended by the reconciliation sweep",
                extra={"tenant_id": tenant_id, "export_id": export_id, "run": detail["status"], **outcome},
            )
            found["ended"].append({"tenant_id": tenant_id, "run": detail["status"], **outcome})
        services.store.exports.reconciled(tenant_id, export_id)
    return dict(found)


def _detail(
    services: Services, execution_arn: str | None, lock: dict[str, Any], tenant_id: str, export_id: str
) -> dict[str, Any] | None:
    """The status-change event's detail EventBridge would have delivered, or None while the run goes on."""
    # Imported once an export is running: a sweep that finds none (most of them, every 10 minutes) does not load
    # the ending of a run (rollback, fetching, the domain rules) at its cold start.
    from . import ended

    described = services.runs.describe(execution_arn) if execution_arn else None
    if described is None:
        if time.time() - lock["claimed_at"] < NEVER_STARTED_AFTER_S:
            return None  # its start may still be on its way
        return {
            "status": ended.NEVER_STARTED,
            "executionArn": execution_arn,
            "name": export_id,
            "input": json.dumps({"tenant_id": tenant_id, "export_id": export_id}),
        }
    if described.get("status") not in ended.STOPPED:
        return None
    return {
        key: described.get(key)
        for key in ("executionArn", "stateMachineArn", "name", "status", "input", "error", "cause")
    }
