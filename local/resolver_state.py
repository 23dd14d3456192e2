"""Powertools' API resolver keeps its request state per Lambda execution environment, as each AWS one is a process.

`ApiGatewayResolver.resolve` keeps the request it serves in process-wide places: the event and the Lambda context
as class attributes (`BaseRouter.current_event`, `BaseRouter.lambda_context`: one slot for every resolver of
every function), the matched route in the resolver's `context` dict (cleared when any request ends), and a
Router included into the resolver reads both through `router.api_resolver`. In AWS that is safe: one environment
serves one request at a time and each environment is a process of its own. The local stack runs every
environment as a thread of one process (local/lambda_runtime.py `_Instance`), so two requests at once read each
other's event (one company answered with another's data) or lose their `_route` (a 500 KeyError).

Why not a fresh copy of the handler module per environment: the event slot is on powertools' own class, which a
copy of `functions/export/app.py` still shares, and the Routers live in `abax_payroll.api.*`, included into every
copy (each include repoints `router.api_resolver` at the newest copy); copying those too duplicates the domain
error classes the resolver's exception handlers match. So the state itself is made per environment: while a
thread serves `resolve`, the resolver's `current_event`, `lambda_context`, `context` and middleware stack frames
are that thread's (an environment's thread serves one invocation at a time and keeps its state between them, as
a warm process does). Outside `resolve` (import time: `include_router` filling `context`) they are the
instance's own, and a new environment starts from that import-time `context`, as a fresh process would.
`tests/e2e/test_concurrent_requests.py` fails without it.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, BaseRouter

# What `resolve` reads and writes per request; the rest of a resolver (routes, middlewares) is fixed at import.
_PER_ENVIRONMENT = ("current_event", "lambda_context", "context", "processed_stack_frames")
_environment = threading.local()
_original_resolve = ApiGatewayResolver.resolve


def _state(resolver: ApiGatewayResolver) -> dict[str, Any] | None:
    """This environment's state of `resolver`, once it has served a request here (None before)."""
    states: weakref.WeakKeyDictionary[ApiGatewayResolver, dict[str, Any]] | None = getattr(
        _environment, "resolvers", None
    )
    return None if states is None else states.get(resolver)


class _PerEnvironment:
    """A resolver attribute that is the environment's own while it serves requests, the instance's otherwise."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, resolver: ApiGatewayResolver | None, owner: type | None = None) -> Any:
        if resolver is None:
            return getattr(BaseRouter, self.name)
        state = _state(resolver)
        if state is not None and self.name in state:
            return state[self.name]
        if self.name in resolver.__dict__:
            return resolver.__dict__[self.name]
        return getattr(
            BaseRouter, self.name
        )  # as powertools reads it: the class attribute (or AttributeError)

    def __set__(self, resolver: ApiGatewayResolver, value: Any) -> None:
        state = _state(resolver)
        if state is None:
            resolver.__dict__[self.name] = value
        else:
            state[self.name] = value


def _resolve(self: ApiGatewayResolver, event: Any, context: Any) -> dict[str, Any]:
    states = getattr(_environment, "resolvers", None)
    if states is None:
        states = _environment.resolvers = weakref.WeakKeyDictionary()
    if self not in states:  # this environment's first request: it starts from what its import left
        states[self] = {"context": dict(self.__dict__.get("context", {})), "processed_stack_frames": []}
    # powertools sets the class attributes next; this environment's own slots are what its reads find.
    states[self]["current_event"] = self._to_proxy_event(getattr(event, "raw_event", event))
    states[self]["lambda_context"] = context
    return _original_resolve(self, event, context)


def install() -> None:
    """Keep every API resolver's request state per environment (idempotent)."""
    for name in _PER_ENVIRONMENT:
        setattr(ApiGatewayResolver, name, _PerEnvironment(name))
    ApiGatewayResolver.resolve = _resolve  # type: ignore[method-assign]


def uninstall() -> None:
    for name in _PER_ENVIRONMENT:
        if isinstance(ApiGatewayResolver.__dict__.get(name), _PerEnvironment):
            delattr(ApiGatewayResolver, name)
    ApiGatewayResolver.resolve = _original_resolve  # type: ignore[method-assign]
