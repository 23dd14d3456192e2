"""Lambda entry point: the saga's compensation (and a user's rollback again), deleting an export's salary lines."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from abax_payroll.errors import STEP_OUTCOMES, RunSuperseded
from abax_payroll.observability import count_unexpected_errors, inject_lambda_context, logger, metrics, tracer
from abax_payroll.workflow.rollback import rollback
from abax_payroll.workflow.services import services


@inject_lambda_context(correlation_id_path="export_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@count_unexpected_errors(expected=STEP_OUTCOMES)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(tenant_id=event["tenant_id"])
    try:
        return rollback(
            services(),
            event["tenant_id"],
            event["export_id"],
            event.get("error"),
            event.get("action"),
            event.get("run"),
            context.get_remaining_time_in_millis() / 1000,
        )
    except RunSuperseded as superseded:
        # Its run was stopped (and its end recorded) or another run took the export over: nothing more is
        # deleted or written, and the state machine ends this run without recording anything (Superseded).
        logger.info("run superseded: the rollback stops here", extra={"reason": str(superseded)})
        return {"status": "SUPERSEDED"}
