"""The local stack's crash control over HTTP (local only, never deployed): kill a chosen task invocation.

`POST /_control/crashes {"point", "function"?, "nth"?, "times"?, "where"?}` arms a crash (local/lambda_runtime.py
`crash`: `point` is `invocation.before`, `invocation.after` or a point the code names, such as
`push.lines_created`; `function` the task function, e.g. `abax-payroll-export-steps` or its CDK name
`ExportSteps`; `where` event fields the invocation must carry, e.g. `{"step": "push", "export_id": "…"}`;
`delay_s` stalls the invocation there that long instead of killing it).
`GET /_control/crashes` lists the armed crashes and the invocations each killed; `DELETE` disarms them all.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import lambda_runtime
from .aws import CDK_NAMES

_BY_CDK_NAME = {cdk: name for name, cdk in CDK_NAMES.items()}


def function_name(name: str | None) -> str | None:
    """The registered function name for a function's own or CDK name (`ExportSteps`)."""
    return None if name is None else _BY_CDK_NAME.get(name, name)


def describe(crash: lambda_runtime.Crash) -> dict[str, Any]:
    return {
        "point": crash.point,
        "function": crash.function,
        "where": crash.where,
        "nth": crash.nth,
        "times": crash.times,
        "delay_s": crash.delay_s,
        "seen": crash.seen,
        "killed": crash.killed,
    }


async def _crashes(request: Request) -> JSONResponse:
    if request.method == "DELETE":
        lambda_runtime.clear_crashes()
        return JSONResponse({"crashes": []})
    if request.method == "GET":
        return JSONResponse({"crashes": [describe(c) for c in lambda_runtime.crashes()]})
    try:
        body = await request.json()
        point = str(body["point"])
        where = body.get("where") or {}
        if not isinstance(where, dict):
            raise TypeError("where must be an object")
        armed = lambda_runtime.crash(
            point,
            function_name(body.get("function")),
            nth=int(body.get("nth", 1)),
            times=int(body.get("times", 1)),
            delay_s=float(body.get("delay_s", 0)),
            **where,
        )
    except (ValueError, KeyError, TypeError) as error:
        detail = (
            'send {"point": "invocation.before" | "invocation.after" | a named point, "function"?, "nth"?, '
        )
        return JSONResponse({"detail": detail + f'"times"?, "where"?}} ({error})'}, status_code=400)
    return JSONResponse(describe(armed))


def routes() -> list[Route]:
    return [Route("/_control/crashes", _crashes, methods=["GET", "POST", "DELETE"])]
