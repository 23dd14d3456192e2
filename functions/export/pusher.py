"""Lambda entry point: the pusher, draining the push queue at PowerOffice Go's limit (workflow/push.py).

Woken by an enqueue that found no pusher draining, and every minute by a schedule (a pusher that died is
replaced); one at a time (reserved concurrency 1, and the PUSHER lease).
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from abax_payroll.observability import count_unexpected_errors, inject_lambda_context, metrics, tracer
from abax_payroll.workflow import push
from abax_payroll.workflow.services import services


@inject_lambda_context()
@tracer.capture_lambda_handler
@metrics.log_metrics
# Nothing it raises is control flow: every chunk's outcome (PushFailed, RunSuperseded, ...) is answered to the
# chunk's waiting task (SendTaskFailure), never raised; what escapes is a fault.
@count_unexpected_errors()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return push.drain(services(), lambda: context.get_remaining_time_in_millis() / 1000)
