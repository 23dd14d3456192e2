"""Lambda entry point: payroll codes, rates, schedule and exports (API Gateway REST events)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from abax_payroll.api.common import make_resolver
from abax_payroll.api.exports import router
from abax_payroll.observability import count_unexpected_errors, inject_lambda_context, metrics, tracer

app = make_resolver(router)


@inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
@count_unexpected_errors()
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
