"""One Logger, Tracer and Metrics for the whole library; correlation id = export id; no secrets, no personal data."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

SERVICE = "abax-payroll"

NAMESPACE = "AbaxPayroll"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


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


# ---- the invocation event in the log, without what must never be there --------------------------------

REDACTED = "<redacted>"
_KEPT_CLAIMS = ("custom:tenant_id", "cognito:groups", "token_use")
_SECRET_HEADERS = ("authorization", "cookie", "x-api-key")


def redacted_event(event: Any) -> Any:
    """The event as POWERTOOLS_LOGGER_LOG_EVENT would log it, minus bodies (an activation carries the client
    key or the ABAX client secret), credentials in headers, and the caller's personal claims."""
    if not isinstance(event, dict):
        return event
    safe = dict(event)
    if safe.get("body") is not None:
        safe["body"] = f"{REDACTED} ({len(str(safe['body']))} characters)"
    for name in ("headers", "multiValueHeaders"):
        headers = safe.get(name)
        if isinstance(headers, dict):
            safe[name] = {
                key: REDACTED if key.lower() in _SECRET_HEADERS else value for key, value in headers.items()
            }
    context = safe.get("requestContext")
    if isinstance(context, dict):
        authorizer = context.get("authorizer")
        claims = authorizer.get("claims") if isinstance(authorizer, dict) else None
        if isinstance(authorizer, dict) and isinstance(claims, dict):
            kept = {key: value for key, value in claims.items() if key in _KEPT_CLAIMS}
            safe["requestContext"] = {**context, "authorizer": {**authorizer, "claims": kept}}
    return safe


def inject_lambda_context(
    correlation_id_path: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """powertools' inject_lambda_context, but POWERTOOLS_LOGGER_LOG_EVENT=true logs the event redacted.

    Powertools would log the raw event: an activation's body holds the client key, its headers the Bearer
    token. Its own event logging is switched off here (log_event=False wins over the variable).
    """

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def logged(event: Any, context: Any) -> Any:
            if os.environ.get("POWERTOOLS_LOGGER_LOG_EVENT", "").strip().lower() in (
                "1",
                "true",
                "yes",
                "on",
            ):
                logger.info(redacted_event(event))
            return handler(event, context)

        return logger.inject_lambda_context(correlation_id_path=correlation_id_path, log_event=False)(logged)

    return decorate


# The alarm on faults counts what the code sees the moment it happens: an exception that escapes a handler
# (or that the API answers 500) and is not one of the outcomes the caller branches on. The state machine's
# tasks raise those outcomes (a validation with problems, a push to roll back, ABAX not answering yet, a run
# still pushing) because a Task state catches errors, not values: they are control flow, never counted. Lambda's own Errors cannot tell the two apart, so no alarm reads it.
UNEXPECTED_ERRORS_METRIC = "UnexpectedErrors"


def count_unexpected_error(error: BaseException) -> None:
    """Count one unexpected error: UnexpectedErrors (the alarm's metric, dimension service) and the same by
    cause (the exception's class name), for the dashboard and the operator's first question."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    metrics.add_metric(name=UNEXPECTED_ERRORS_METRIC, unit=MetricUnit.Count, value=1)
    cause = {"service": SERVICE, "cause": type(error).__name__}
    with single_metric(
        name=UNEXPECTED_ERRORS_METRIC,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions=cause,
    ):
        pass


def count_unexpected_errors(
    expected: frozenset[str] = frozenset(),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Count an exception that escapes the handler unless its class, or a class it derives from, is named in
    `expected` (the outcomes its caller branches on, as the ASL's ErrorEquals names them); re-raise it either
    way, so Lambda, the state machine or the queue retries as before."""

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def counted(event: Any, context: Any) -> Any:
            try:
                return handler(event, context)
            except Exception as error:
                names = {cls.__name__ for cls in type(error).__mro__}
                if "RunSuperseded" in names:
                    # A run stopped (or taken over) while this step ran: normal, said once in the log.
                    logger.info(
                        "run superseded: this step stops here and writes nothing more",
                        extra={"reason": str(error)},
                    )
                elif not expected & names:
                    count_unexpected_error(error)
                raise

        return counted

    return decorate
