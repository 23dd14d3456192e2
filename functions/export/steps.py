"""Lambda entry point: the state machine's export steps (validate, group, push, complete, prepare_resume, mark_failed)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from abax_payroll.observability import count_control_flow, inject_lambda_context, logger, metrics, tracer
from abax_payroll.workflow import resume, steps
from abax_payroll.workflow.services import services


@inject_lambda_context(correlation_id_path="export_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@count_control_flow
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step, tenant_id, export_id = event["step"], event["tenant_id"], event["export_id"]
    logger.append_keys(step=step, tenant_id=tenant_id)
    if step == "validate":
        return steps.validate(services(), tenant_id, export_id)
    if step == "group":
        return steps.group(services(), tenant_id, export_id)
    if step == "push":
        return steps.push_chunk(services(), tenant_id, export_id, int(event["chunk"]))
    if step == "complete":
        return steps.complete(services(), tenant_id, export_id)
    if step == "prepare_resume":
        return resume.prepare_resume(services(), tenant_id, export_id)
    if step == "mark_failed":
        return steps.mark_failed(services(), tenant_id, export_id, event.get("input") or {})
    raise ValueError(f"unknown step {step!r}")
