"""Lambda entry point: the state machine's export steps (fetch, queue Validate's PowerOffice lookups for the
pusher, validate, group, enqueue a chunk for the pusher, complete, prepare_resume, mark_failed; a search's
fetch), and EventBridge's news of a run that ended outside them (workflow/ended.py)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from abax_payroll.errors import STEP_OUTCOMES
from abax_payroll.observability import count_unexpected_errors, inject_lambda_context, logger, metrics, tracer
from abax_payroll.workflow import ended, lookups, previews, push, resume, steps
from abax_payroll.workflow.services import services


@inject_lambda_context(correlation_id_path="export_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@count_unexpected_errors(expected=STEP_OUTCOMES)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("source") == "aws.states":  # EventBridge: a run ended where no Catch could record it
        return ended.execution_ended(services(), event.get("detail") or {})
    if event.get("kind") == "search":  # a search the API could not finish within API Gateway's 29 s
        return _search_step(event, context)
    step, tenant_id, export_id = event["step"], event["tenant_id"], event["export_id"]
    run = event.get("run")  # the execution this step works for: its writes are fenced by it
    logger.append_keys(step=step, tenant_id=tenant_id)
    if step == "fetch":
        return steps.fetch(services(), tenant_id, export_id, context.get_remaining_time_in_millis() / 1000)
    if step == "enqueue_lookup":  # the task then waits on its token until the pusher has asked PowerOffice Go
        lookups.request(services(), tenant_id, export_id, event["run"])
        return push.enqueue(
            services(),
            tenant_id,
            export_id,
            lookups.LOOKUP_CHUNK,
            event["run"],
            event["token"],
            action=lookups.LOOKUP,
        )
    if step == "validate":
        return steps.validate(services(), tenant_id, export_id, run)
    if step == "group":
        return steps.group(services(), tenant_id, export_id, run)
    if step == "enqueue_push":  # the task then waits on its token until the pusher answers
        return push.enqueue(
            services(), tenant_id, export_id, int(event["chunk"]), event["run"], event["token"]
        )
    if step == "complete":
        return steps.complete(services(), tenant_id, export_id, run)
    if step == "prepare_resume":
        return resume.prepare_resume(services(), tenant_id, export_id, run)
    if step == "mark_failed":
        return steps.mark_failed(services(), tenant_id, export_id, event.get("input") or {}, run)
    raise ValueError(f"unknown step {step!r}")


def _search_step(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step, tenant_id, preview_id = event["step"], event["tenant_id"], event["preview_id"]
    logger.append_keys(step=step, tenant_id=tenant_id, preview_id=preview_id)
    if step == "fetch":
        return previews.fetch_step(
            services(), tenant_id, preview_id, context.get_remaining_time_in_millis() / 1000
        )
    if step == "failed":
        return previews.failed_step(services(), tenant_id, preview_id, event.get("input") or {})
    raise ValueError(f"unknown search step {step!r}")
