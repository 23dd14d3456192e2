"""What every route shares: the caller from the authorizer's claims and domain errors as problem+json."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from ..domain.period import InvalidPeriod
from ..errors import PayrollError
from ..observability import count_unexpected_error, logger, metrics

PROBLEM_JSON = "application/problem+json"
ROLES = ("admin", "payroll")


class Unauthorized(PayrollError):
    code, status, title = "UNAUTHORIZED", 401, "Not signed in"


class Forbidden(PayrollError):
    code, status, title = "FORBIDDEN", 403, "Not allowed"


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def _groups(raw: Any) -> frozenset[str]:
    """The caller's groups, names exactly as Cognito holds them ("admin " or "[admin]" is not "admin").

    API Gateway's REST Cognito authorizer flattens the token's list into one comma-separated string; the
    local gateway hands the list itself. Anything else is a claim no authorizer produces: 401.
    """
    if isinstance(raw, str):
        return frozenset(raw.split(",")) if raw else frozenset()
    if isinstance(raw, list) and all(isinstance(group, str) for group in raw):
        return frozenset(raw)
    if raw is None:
        return frozenset()
    raise Unauthorized("the token's cognito:groups claim is malformed: it must be a list of group names")


def caller(resolver: APIGatewayRestResolver | Router) -> Caller:
    """The tenant comes from the token's custom:tenant_id claim only, never from the request."""
    event = resolver.current_event.raw_event
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    if not claims:
        raise Unauthorized("sign in: the request carries no verified token")
    tenant_id = claims.get("custom:tenant_id")
    if not tenant_id:
        raise Forbidden("the token has no custom:tenant_id claim, so it belongs to no company")
    roles = _groups(claims.get("cognito:groups")) & set(ROLES)
    if not roles:
        raise Forbidden("the user is in neither the admin nor the payroll group")
    return Caller(
        tenant_id=str(tenant_id), user=str(claims.get("email") or claims.get("sub") or "unknown"), roles=roles
    )


def require_admin(who: Caller) -> None:
    if not who.is_admin:
        raise Forbidden("only an administrator can switch the PowerOffice Go or ABAX integration on or off")


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    problems: list[dict[str, Any]] | None = None,
    params: dict[str, Any] | None = None,
) -> Response:
    """problem+json: `code` and `params` for programs, `title` and `detail` in English for people."""
    body = {
        "type": f"https://abax-payroll.example/problems/{code.lower().replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "params": params or {},
        "problems": problems or [],
    }
    return Response(status_code=status, content_type=PROBLEM_JSON, body=json.dumps(body))


def invalid_request(summary: str, items: list[dict[str, Any]]) -> Response:
    """422 INVALID_REQUEST: what in the request does not match the API, one item per field."""
    return problem(
        422,
        "INVALID_REQUEST",
        "Invalid request",
        f"the request does not match the API: {summary}",
        [
            {
                "code": "INVALID_FIELD",
                "message": summary,
                "items": items,
                "params": {"fields": [item["field"] for item in items]},
            }
        ],
        {"fields": [item["field"] for item in items]},
    )


def _cors() -> CORSConfig | None:
    """The web app's origins from CORS_ALLOWED_ORIGINS (read directly: the OpenAPI build needs no settings)."""
    origins = [
        origin.strip() for origin in os.environ.get("CORS_ALLOWED_ORIGINS", "").split(",") if origin.strip()
    ]
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=["Authorization", "Content-Type"],
        # Retry-After: a company past its share is told when to ask again (_company_share).
        expose_headers=["X-Report-Parts", "X-Report-Part", "Retry-After"],
        max_age=600,
    )


# Lambda returns at most 6 MB to API Gateway (the whole JSON the handler returns); beyond it the caller gets the
# gateway's 502 and no word of why. Lists that grow with a company are paged (problems, lines); an answer that
# still does not fit is a 413 that says so, never a 502.
RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024


def within_response_limit(result: dict[str, Any]) -> dict[str, Any]:
    """The handler's answer, or a 413 RESPONSE_TOO_LARGE problem when it would pass Lambda's 6 MB."""
    size = len(json.dumps(result))
    if size <= RESPONSE_LIMIT_BYTES:
        return result
    logger.warning("answer too large for Lambda", extra={"bytes": size, "limit": RESPONSE_LIMIT_BYTES})
    body = {
        "type": "https://abax-payroll.example/problems/response-too-large",
        "title": "Answer too large",
        "status": 413,
        "detail": f"the answer would be {size} bytes; a function returns at most {RESPONSE_LIMIT_BYTES} "
        "(6 MB). Ask for less: a shorter period or fewer logbooks",
        "code": "RESPONSE_TOO_LARGE",
        "params": {"bytes": size, "limit": RESPONSE_LIMIT_BYTES},
        "problems": [],
    }
    headers = {
        name: values
        for name, values in (result.get("multiValueHeaders") or {}).items()
        if name.lower() not in ("content-type", "content-disposition", "content-encoding")
    }
    return {
        "statusCode": 413,
        "multiValueHeaders": {**headers, "Content-Type": [PROBLEM_JSON]},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


# Each company's share of the API, over windows of this many seconds (store/quotas.py).
QUOTA_WINDOW_S = 10


def _company_share(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """429 THROTTLED to a company past TENANT_REQUESTS_PER_SECOND (averaged over 10 s), so that one company's
    open tabs cannot spend the stage's limit, which every company shares. Unset or 0: no per-company limit."""
    per_second = float(os.environ.get("TENANT_REQUESTS_PER_SECOND") or 0)
    claims = ((app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}).get("claims")
    tenant_id = (claims or {}).get("custom:tenant_id")
    if per_second <= 0 or not tenant_id:
        return next_middleware(app)  # an unsigned request gets its 401 from the route
    from ..workflow.services import services

    limit = max(1, int(per_second * QUOTA_WINDOW_S))
    wait = services().store.quotas.admit(str(tenant_id), limit, QUOTA_WINDOW_S)
    if wait is None:
        return next_middleware(app)
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(
        name="CompanyRequestsThrottled", unit=MetricUnit.Count, value=1
    )  # graphed, not alarmed
    answer = problem(
        429,
        "THROTTLED",
        "Too many requests",
        f"your company sent more than {limit} requests in {QUOTA_WINDOW_S} s; try again in {wait} s",
        params={"limit": limit, "window_s": QUOTA_WINDOW_S, "retry_after_s": wait},
    )
    answer.headers["Retry-After"] = str(wait)
    return answer


class _Resolver(APIGatewayRestResolver):
    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        return within_response_limit(super().resolve(event, context))


def make_resolver(*routers: Router) -> APIGatewayRestResolver:
    """One resolver per function, all errors mapped here, in one place."""
    app = _Resolver(enable_validation=True, strip_prefixes=["/v1"], cors=_cors())
    for router in routers:
        app.include_router(router)

    def _no_control_characters(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
        # A route's pattern ends in `$`, which also matches before a final newline: GET /exports/%0A
        # would list the exports. No path of this API holds a control character.
        path = app.current_event.path
        if any(ord(character) < 0x20 or ord(character) == 0x7F for character in path):
            return problem(
                404, "NOT_FOUND", "Not found", f"no route {app.current_event.http_method} {path!r}"
            )
        return next_middleware(app)

    def _no_unknown_query_parameters(
        app: APIGatewayRestResolver, next_middleware: NextMiddleware
    ) -> Response:
        # A misspelt parameter (?limt=5) is refused, not silently ignored: the caller learns what was wrong.
        route = app.context.get("_route")
        if route is not None and getattr(route.func, "__name__", "") == "not_found_handler":
            return next_middleware(
                app
            )  # no route has this path (powertools' 404 route): a 404, whatever the query
        given = set(app.current_event.query_string_parameters or {})
        known = {str(param.alias) for param in route.dependant.query_params} if route is not None else given
        unknown = sorted(given - known)
        if not unknown:
            return next_middleware(app)
        reads = ", ".join(sorted(known)) or "none"
        items = [
            {"field": name, "error": "unknown query parameter", "type": "unknown_query_parameter"}
            for name in unknown
        ]
        summary = f"unknown query parameter(s) {', '.join(unknown)}; this route reads {reads}"
        return invalid_request(summary, items)

    app.use(middlewares=[_no_control_characters, _company_share, _no_unknown_query_parameters])

    @app.exception_handler(PayrollError)
    def _payroll_error(error: PayrollError) -> Response:
        answer = problem(error.status, error.code, error.title, error.detail, error.problems, error.params)
        if error.status == 503 and hasattr(error, "retry_after_s"):  # a busy service says when to come back
            answer.headers["Retry-After"] = str(error.retry_after_s)
        return answer

    @app.exception_handler(InvalidPeriod)
    def _invalid_period(error: InvalidPeriod) -> Response:
        return problem(400, "INVALID_PERIOD", "Invalid period", str(error), params=error.params)

    @app.exception_handler(RequestUnsupportedContentType)
    def _not_json(_: RequestUnsupportedContentType) -> Response:
        content_type = app.current_event.headers.get("content-type") or app.current_event.headers.get(
            "Content-Type"
        )
        return problem(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "Unsupported media type",
            f"the body must be JSON (Content-Type: application/json), not {content_type or 'unlabelled'}",
        )

    @app.exception_handler(RecursionError)
    def _too_deep(_: RecursionError) -> Response:
        return problem(
            400,
            "MALFORMED_JSON",
            "Malformed JSON",
            "the body is not JSON this API reads: it is nested too deeply",
        )

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(_: UnicodeDecodeError) -> Response:
        # API Gateway hands a body that is not UTF-8 over base64-encoded; it cannot be JSON.
        return problem(400, "MALFORMED_JSON", "Malformed JSON", "the body is not JSON: it is not UTF-8 text")

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response:
        malformed = [issue for issue in error.errors() if issue.get("type") == "json_invalid"]
        if malformed:
            reason = str((malformed[0].get("ctx") or {}).get("error") or malformed[0].get("msg") or "")
            return problem(400, "MALFORMED_JSON", "Malformed JSON", f"the body is not valid JSON ({reason})")
        items = [
            {
                "field": ".".join(str(part) for part in issue.get("loc", ()) if part != "body") or "body",
                "error": issue.get("msg", ""),
                "type": str(issue.get("type", "")),
            }
            for issue in error.errors()
        ]
        summary = "; ".join(f"{item['field']}: {item['error']}" for item in items)
        return invalid_request(summary, items)

    @app.not_found
    def _not_found(_: Exception) -> Response:
        return problem(
            404,
            "NOT_FOUND",
            "Not found",
            f"no route {app.current_event.http_method} {app.current_event.path}",
        )

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.exception("unexpected error")
        count_unexpected_error(error)
        return problem(
            500, "INTERNAL_ERROR", "Internal error", "something went wrong on our side; the error is logged"
        )

    return app
