"""A local API Gateway: HTTP requests become REST proxy events for the real handlers, behind a Cognito-like authorizer."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .auth import TokenRejected, verify
from .lambda_runtime import LocalContext, invoke_api

MAX_BODY_BYTES = 1_000_000
# API Gateway (REST) cuts an integration at 29 s and answers 504 itself; the function runs on regardless.
INTEGRATION_TIMEOUT_S = 29.0
# The API functions' own timeout (the CDK app's API_TIMEOUT): a handler still running then is cut off.
FUNCTION_TIMEOUT_S = 29.0
# A synchronous invocation returns at most 6 MB (6,291,556 bytes) of JSON; a larger answer is an error.
LAMBDA_RESPONSE_LIMIT_BYTES = 6_291_556


class AnyPath(PathConvertor):
    """Like Starlette's `path`, but also across a newline (`%0A` in a path): API Gateway's `{proxy+}`."""

    regex = r"[\s\S]*"


register_url_convertor("anypath", AnyPath())
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _problem(status: int, code: str, title: str, detail: str) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "problems": [],
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def to_event(request: Request, body: bytes, claims: dict[str, Any] | None, path: str) -> dict[str, Any]:
    query = parse_qs(request.url.query, keep_blank_values=True)
    headers = {key: value for key, value in request.headers.items() if key.lower() != "authorization"}
    try:
        text, encoded = body.decode(), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": {key: values[-1] for key, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "httpMethod": request.method,
            "path": f"/v1{path}",
            "resourcePath": "/{proxy+}",
            "requestTimeEpoch": int(datetime.now(UTC).timestamp() * 1000),
            "identity": {"sourceIp": request.client.host if request.client else "127.0.0.1"},
            "authorizer": {"claims": claims} if claims else None,
        },
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


def gateway_routes(
    route_to: Callable[[str], tuple[str, Handler]],
    openapi: Callable[[], dict[str, Any]],
    timeout_s: Callable[[], float] = lambda: INTEGRATION_TIMEOUT_S,
) -> list[Route]:
    """`/v1/...` through the authorizer to the function that owns the path (`route_to`: its name and handler);
    `/v1/openapi.json` unauthenticated.

    A function that answers after `timeout_s()` (API Gateway's 29 s) gets the 504 AWS would give instead; its
    answer is dropped, as AWS drops it (the CDK app answers that 504 as problem+json, DEFAULT_5XX).
    """

    async def openapi_document(_: Request) -> Response:
        return JSONResponse(openapi())

    async def proxy(request: Request) -> Response:
        path = "/" + request.path_params["path"]
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _problem(
                413,
                "PAYLOAD_TOO_LARGE",
                "Request too large",
                f"the body is {len(body)} bytes; at most {MAX_BODY_BYTES}",
            )
        try:
            claims = verify(request.headers.get("authorization"))
        except TokenRejected as rejected:
            return _problem(401, "UNAUTHORIZED", "Unauthorized", str(rejected))
        event = to_event(request, body, claims, path)
        function, handler = route_to(path)
        limit = timeout_s()
        context = LocalContext(function_name=function, timeout_s=FUNCTION_TIMEOUT_S)
        try:
            # In an execution environment of the function's own for as long as it runs (lambda_runtime), as
            # Lambda serves each request at once in an environment of its own; here past the 504 too, as in AWS.
            invocation = run_in_threadpool(invoke_api, function, handler, event, context, FUNCTION_TIMEOUT_S)
            result = await asyncio.wait_for(invocation, limit)
        except TimeoutError:
            return _problem(
                504,
                "GATEWAY_ERROR",
                "The service is unavailable",
                f"the function did not answer within {limit:g} s (API Gateway's integration timeout)",
            )
        if len(json.dumps(result)) > LAMBDA_RESPONSE_LIMIT_BYTES:
            # Lambda refuses to return it (Function.ResponseSizeTooLarge); API Gateway answers 502.
            return _problem(
                502,
                "GATEWAY_ERROR",
                "The service is unavailable",
                "the function's answer is larger than Lambda's 6 MB response payload limit",
            )
        payload = result.get("body") or ""
        raw = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        headers = dict(result.get("headers") or {})
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[key] = values[-1]
        headers.pop("Content-Length", None)
        return Response(raw, status_code=int(result.get("statusCode", 200)), headers=headers)

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    return [
        Route("/v1/openapi.json", openapi_document, methods=["GET"]),
        Route("/v1/{path:anypath}", proxy, methods=methods),
    ]


def openapi_document() -> dict[str, Any]:
    from abax_payroll.api.openapi import openapi_document as document

    return document()
