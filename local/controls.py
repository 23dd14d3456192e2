"""The local stack's own control surface (SPEC §6; local only, never deployed): stop an export's run and
lose its status-change event, run the reconciliation sweep or the daily schedule now, read the e-mails that
would have been sent. Each answers 200 with what it did."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .aws import ACCOUNT, REGION, TABLE

if TYPE_CHECKING:
    from .stack import LocalStack


def _bad(detail: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


async def _body(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def stop_execution(stack: LocalStack, tenant_id: str, export_id: str, deliver_event: bool) -> dict[str, Any]:
    """StopExecution of the export's current run; without its event, the export stays RUNNING until the
    reconciliation sweep finds it (as when EventBridge loses the event)."""
    item = (
        boto3.resource("dynamodb", region_name=REGION)
        .Table(TABLE)
        .get_item(Key={"pk": f"TENANT#{tenant_id}", "sk": f"EXPORT#{export_id}"}, ConsistentRead=True)
        .get("Item")
    )
    if item is None or not item.get("execution_arn"):
        raise LookupError(f"no export {export_id} of tenant {tenant_id} with a run")
    arn = str(item["execution_arn"])
    events = stack.aws.execution_ends
    if not deliver_event and events is not None:
        events.lose(arn)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    try:
        before = sfn.describe_execution(executionArn=arn)["status"]
    except sfn.exceptions.ExecutionDoesNotExist:
        raise LookupError(f"export {export_id} has no run {arn}") from None
    if before == "RUNNING":
        _stop(sfn, arn)
    return {
        "export_id": export_id,
        "tenant_id": tenant_id,
        "execution_arn": arn,
        "status_before": before,
        "stopped": before == "RUNNING",
        "event": "delivered" if deliver_event else "lost",
        "export_status": item.get("status"),
    }


def _stop(sfn: Any, arn: str) -> None:
    """StopExecution; moto refuses it (a 500) in the instant between StartExecution and its interpreter's
    first state, so it is asked again for a few seconds."""
    deadline = time.monotonic() + 5
    while True:
        try:
            sfn.stop_execution(executionArn=arn, error="ExecutionAborted", cause="/_control/executions/stop")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def notifications() -> list[dict[str, Any]]:
    """What SES (moto) was asked to send, oldest first."""
    from moto.ses.models import ses_backends

    return [
        {
            "id": message.id,
            "from": message.source,
            "to": list(message.destinations.get("ToAddresses", [])),
            "subject": message.subject,
            "body": message.body,
        }
        for message in ses_backends[ACCOUNT][REGION].sent_messages
    ]


def control_routes(stack: LocalStack) -> list[Route]:
    async def stop(request: Request) -> JSONResponse:
        body = await _body(request)
        if body is None or not body.get("export_id") or not body.get("tenant_id"):
            return _bad('send {"export_id": "...", "tenant_id": "...", "deliver_event": false}')
        deliver = body.get("deliver_event", True)
        if not isinstance(deliver, bool):
            return _bad("deliver_event must be true or false")
        try:
            done = await run_in_threadpool(
                stop_execution, stack, str(body["tenant_id"]), str(body["export_id"]), deliver
            )
        except LookupError as error:
            return _bad(str(error), 404)
        return JSONResponse(done)

    async def reconcile(_: Request) -> JSONResponse:
        done = await run_in_threadpool(stack.invoke, "Reconcile", {"source": "abax-payroll.reconcile"})
        return JSONResponse(done)

    async def run_schedule(request: Request) -> JSONResponse:
        body = await _body(request)
        at = body.get("at") if body else None
        try:
            moment = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
        except ValueError:
            return _bad('send {"at": "<ISO 8601 instant>"}, e.g. {"at": "2026-12-05T05:00:00Z"}')
        if moment.tzinfo is None:
            return _bad("at must name its offset (Z or +01:00): it is an instant, as Scheduler sends it")
        event = {"source": "abax-payroll.schedule", "scheduled_time": moment.isoformat()}
        queued = await run_in_threadpool(stack.invoke, "Schedule", event)
        return JSONResponse({"at": moment.isoformat(), **queued})

    async def sent(_: Request) -> JSONResponse:
        return JSONResponse({"notifications": await run_in_threadpool(notifications)})

    return [
        Route("/_control/executions/stop", stop, methods=["POST"]),
        Route("/_control/reconcile", reconcile, methods=["POST"]),
        Route("/_control/schedule/run", run_schedule, methods=["POST"]),
        Route("/_control/notifications", sent, methods=["GET"]),
    ]
