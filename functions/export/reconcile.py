"""Lambda entry point: the reconciliation sweep (EventBridge Scheduler, every 10 minutes) ends exports whose
run ended unseen or never started (workflow/reconcile.py)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from abax_payroll.observability import count_unexpected_errors, inject_lambda_context, metrics, tracer
from abax_payroll.workflow.reconcile import reconcile
from abax_payroll.workflow.services import services


@inject_lambda_context()
@tracer.capture_lambda_handler
@metrics.log_metrics
@count_unexpected_errors()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return reconcile(services())
