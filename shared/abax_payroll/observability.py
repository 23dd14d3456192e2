"""One Logger, Tracer and Metrics for the whole library; correlation id = export id; no secrets, no personal data."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

SERVICE = "abax-payroll"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="AbaxPayroll", service=SERVICE)


class _InvocationTracing:
    """Lambda's active tracing already records every invocation (and API Gateway and Step Functions theirs).

    Subsegments for each HTTP and AWS call need the X-Ray SDK, whose import alone costs about 220 ms of every
    cold start (measured by `make bench`, cold start), so they are opt-in: TRACE_SUBSEGMENTS=true.
    """

    def capture_lambda_handler(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        return handler

    def capture_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        return method


def _tracer() -> Any:
    if os.environ.get("TRACE_SUBSEGMENTS", "").lower() == "true":
        from aws_lambda_powertools import Tracer

        return Tracer(service=SERVICE)
    return _InvocationTracing()


tracer = _tracer()

# botocore's DEBUG records carry whole request and response bodies: Secrets Manager's SecretString,
# that is the tenants' PowerOffice Go client keys. A function whose log level is set to DEBUG (Lambda's
# advanced logging controls set the root logger's level) must not print them, so the AWS SDK's loggers
# keep their own level; set it here, deliberately, to debug the SDK itself.
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.INFO)
