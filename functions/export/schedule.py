"""Lambda entry points of the monthly schedule.

`handler`: the daily EventBridge Scheduler event; queues one start per tenant due today (no secret, no
PowerOffice Go, no ABAX). `start_handler`: the scheduled-starts queue (SQS event source, partial batch
responses); starts one tenant's export per message, so a failing tenant is retried alone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools.utilities.typing import LambdaContext

from abax_payroll.domain.period import Period
from abax_payroll.observability import count_unexpected_errors, inject_lambda_context, logger, metrics, tracer
from abax_payroll.workflow.schedule import dispatch_monthly, start_scheduled
from abax_payroll.workflow.services import services

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

OSLO = ZoneInfo("Europe/Oslo")


@inject_lambda_context()
@tracer.capture_lambda_handler
@metrics.log_metrics
@count_unexpected_errors()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The schedule's time (Scheduler sends scheduled_time, an EventBridge rule sends time; else now), in Oslo,
    # decides which day of the month it is.
    stamp = event.get("scheduled_time") or event.get("time")
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else datetime.now(OSLO)
    return dispatch_monthly(services(), moment.astimezone(OSLO).date())


def _start(record: SQSRecord) -> dict[str, Any]:
    start = json.loads(record.body)
    logger.append_keys(tenant_id=start["tenant_id"])
    return start_scheduled(services(), start["tenant_id"], Period.parse(start["from"], start["to"]))


@inject_lambda_context()
@tracer.capture_lambda_handler
@metrics.log_metrics
def start_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported here: powertools' batch utility costs the daily Schedule function, which shares this module and
    # never reads a queue, almost half an `import boto3` at every cold start.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(event=event, record_handler=_start, processor=processor, context=context)
