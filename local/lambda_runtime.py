"""Run the real Lambda handlers in-process when moto's Step Functions interpreter invokes a function.

moto's Lambda backend either runs code in Docker or, with `use_docker: False`, never runs it at all.
This module replaces the invoke method of that Docker-free backend with a dispatcher from function
name to Python handler. It reaches into moto internals, which is why moto is pinned exactly in
pyproject.toml and `tests/workflow/test_lambda_runtime_seam.py` fails as soon as the seam moves.

The contract kept towards the interpreter is AWS Lambda's own: the payload is the JSON result; an
exception becomes `{"errorType": <class name>, "errorMessage": ...}` with the function-error header
set, so the state machine's `ErrorEquals` match Python exception class names.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

Handler = Callable[[dict[str, Any], Any], Any]

_registry: dict[str, Handler] = {}
_lock = threading.Lock()
_original_invoke = LambdaSimpleBackend.invoke


@dataclass
class LocalContext:
    """The parts of the Lambda context object the handlers (powertools) read."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = ""
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _function_name(name_or_arn: str) -> str:
    # Accepts a plain name or an ARN (arn:aws:lambda:region:account:function:NAME[:qualifier]).
    return name_or_arn.split(":")[6] if name_or_arn.startswith("arn:") else name_or_arn


def _invoke(self: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any) -> bytes:
    name = _function_name(function_name)
    handler = _registry.get(name)
    if handler is None:
        return _original_invoke(self, function_name, qualifier, body, headers, response_headers)  # type: ignore[no-any-return]
    event = json.loads(body or b"{}")
    context = LocalContext(function_name=name, invoked_function_arn=f"arn:aws:lambda:{self.region_name}:{self.account_id}:function:{name}")
    try:
        result = handler(event, context)
        return json.dumps(result, default=str).encode()
    except Exception as error:  # the Lambda service turns any exception into an error payload
        response_headers["x-amz-function-error"] = "Unhandled"
        payload = {"errorType": type(error).__name__, "errorMessage": str(error), "stackTrace": []}
        return json.dumps(payload).encode()


def register(function_name: str, handler: Handler) -> None:
    with _lock:
        _registry[function_name] = handler


def install() -> None:
    """Route invocations of registered functions to their Python handlers (idempotent)."""
    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]


def uninstall() -> None:
    LambdaSimpleBackend.invoke = _original_invoke  # type: ignore[method-assign]
    _registry.clear()
