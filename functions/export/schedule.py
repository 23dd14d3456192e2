"""Lambda entry point: the daily EventBridge Scheduler event that starts the monthly exports due today."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools.utilities.typing import LambdaContext

from abax_payroll.observability import inject_lambda_context, metrics, tracer
from abax_payroll.workflow.schedule import run_monthly
from abax_payroll.workflow.services import services

OSLO = ZoneInfo("Europe/Oslo")


@inject_lambda_context()
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The schedule's time (Scheduler sends scheduled_time, an EventBridge rule sends time; else now), in Oslo,
    # decides which day of the month it is.
    stamp = event.get("scheduled_time") or event.get("time")
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else datetime.now(OSLO)
    return run_monthly(services(), moment.astimezone(OSLO).date())
