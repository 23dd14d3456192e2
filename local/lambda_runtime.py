"""Run the real Lambda handlers in-process when moto's Step Functions interpreter invokes a function.

moto's Lambda backend either runs code in Docker or, with `use_docker: False`, never runs it at all.
This module replaces the invoke method of that Docker-free backend with a dispatcher from function
name to Python handler. It reaches into moto internals, which is why moto is pinned exactly in
pyproject.toml and `tests/workflow/test_lambda_runtime_seam.py` fails as soon as the seam moves.

The contract kept towards the interpreter is AWS Lambda's own: the payload is the JSON result; an
exception becomes `{"errorType": <class name>, "errorMessage": ...}` with the function-error header
set, so the state machine's `ErrorEquals` match Python exception class names.

A test can kill a chosen invocation at a chosen point (`crash`): before its work, after it and before it
answers, or at a point the code names (`abax_payroll.crashpoints`). The invocation's thread stops there for
good (no `except`, no `finally`: nothing more of it runs, as in a killed process), its environment is never
reused, and the caller gets what Lambda answers for a runtime that died: `Runtime.ExitError`. Its other threads
(a pusher's workers) stop too, at their next AWS or HTTP call: a killed process renews no lease and creates
no line after its death.

Reserved concurrency (`reserve_concurrency`) holds for every invocation of a function together, as in Lambda: a
synchronous invoke beyond it is refused before the handler runs, with Lambda's 429 TooManyRequestsException
(Reason ReservedFunctionConcurrentInvocationLimitExceeded), which Step Functions reports to a task as
`Lambda.TooManyRequestsException`; an asynchronous one waits in the function's queue until one ends.

The local gateway's requests run here too (`invoke_api`): each in an environment of its API function that serves
nothing else meanwhile, with powertools' resolver state per environment (local/resolver_state.py).
"""

from __future__ import annotations

import concurrent.futures.thread
import contextlib
import contextvars
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import httpx
from botocore.exceptions import ClientError
from botocore.handlers import BUILTIN_HANDLERS
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError
from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from abax_payroll import crashpoints

from . import resolver_state

Handler = Callable[[dict[str, Any], Any], Any]

_registry: dict[str, Handler] = {}
# Lambda's own limit (15 minutes) unless a function is given less; a handler still running then is cut off.
MAX_TIMEOUT_S = 900.0
_timeouts: dict[str, float] = {}
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
    timeout_s: float = MAX_TIMEOUT_S
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_s - time.monotonic()) * 1000))


def _function_name(name_or_arn: str) -> str:
    # Accepts a plain name or an ARN (arn:aws:lambda:region:account:function:NAME[:qualifier]).
    return name_or_arn.split(":")[6] if name_or_arn.startswith("arn:") else name_or_arn


def _invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    name = _function_name(function_name)
    handler = _registry.get(name)
    if handler is None:
        return _original_invoke(self, function_name, qualifier, body, headers, response_headers)  # type: ignore[no-any-return]
    event = json.loads(body or b"{}")
    timeout = _timeouts.get(name, MAX_TIMEOUT_S)
    context = LocalContext(
        function_name=name,
        invoked_function_arn=f"arn:aws:lambda:{self.region_name}:{self.account_id}:function:{name}",
        timeout_s=timeout,
    )
    if (headers or {}).get("X-Amz-Invocation-Type") == "Event":
        # Lambda's asynchronous invoke: queued, answered 202 at once, run when the function has room.
        _Events.submit(
            name, lambda: _run_event(name, handler, event, context, timeout), contextvars.copy_context()
        )
        return b""
    if not _Events.enter(name):
        raise TooManyRequestsException(name)
    try:
        return _invoke_sync(name, handler, event, context, timeout, response_headers)
    finally:
        _Events.leave(name)


class TooManyRequestsException(JsonRESTError):
    """Lambda's answer to a synchronous invoke beyond the function's reserved concurrency (HTTP 429)."""

    code = 429

    def __init__(self, function_name: str):
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        body = json.loads(self.description)
        body.update({"Type": "User", "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"})
        self.description = json.dumps(body)
        with _Events._lock:
            _Events.throttled[function_name] = _Events.throttled.get(function_name, 0) + 1


def _invoke_sync(
    name: str, handler: Handler, event: Any, context: LocalContext, timeout: float, response_headers: Any
) -> bytes:
    outcome: dict[str, Any] = {}
    invocation = _Invocation(name, event, context.aws_request_id)

    def run() -> None:
        _current.set(invocation)
        with _in_flight_lock:
            _in_flight.add(invocation)
        try:
            _reached(BEFORE)
            outcome["result"] = handler(event, context)
            _reached(AFTER)
        except Exception as error:  # the Lambda service turns any exception into an error payload
            outcome["error"] = error
        finally:
            with _in_flight_lock:
                _in_flight.discard(invocation)

    # The handler runs on a warm instance's thread (reused, as Lambda reuses an execution environment, so
    # what a handler caches per thread — its boto3 clients — lives on), with the caller's context, so that
    # its time can be cut like Lambda's: an instance still running is abandoned and never reused, as Lambda
    # freezes it and answers Sandbox.Timedout.
    if not _Instance.take(name).run(contextvars.copy_context(), run, timeout, invocation.answered):
        response_headers["x-amz-function-error"] = "Unhandled"
        message = f"Task timed out after {timeout:.2f} seconds"
        return json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": message}).encode()
    if invocation.killed_at is not None:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(invocation.exit_error()).encode()
    if "error" in outcome:
        error = outcome["error"]
        response_headers["x-amz-function-error"] = "Unhandled"
        payload = {"errorType": type(error).__name__, "errorMessage": str(error), "stackTrace": []}
        return json.dumps(payload).encode()
    return json.dumps(outcome.get("result"), default=str).encode()


def invoke_api(
    name: str, handler: Handler, event: dict[str, Any], context: LocalContext, timeout_s: float
) -> Any:
    """One request of API Gateway's to the API function `name` (a synchronous invoke): run in an environment of
    the function that serves nothing else meanwhile (an idle one, or a new one, a cold start, counted), as Lambda
    runs it; the handler's result, or its exception. The resolver's request state is the environment's own
    (local/resolver_state.py), so two requests at once never read each other's event. TimeoutError when it runs
    past `timeout_s` (the function's timeout; the environment is then discarded, as Lambda does)."""
    with _Instance._idle_lock:
        _Instance.api.add(name)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = handler(event, context)
        except Exception as error:  # raised again in the caller, as the gateway has always seen it
            outcome["error"] = error

    if not _Instance.take(name).run(contextvars.copy_context(), run, timeout_s):
        raise TimeoutError(f"{name} did not answer within {timeout_s:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _run_event(name: str, handler: Handler, event: Any, context: LocalContext, timeout: float) -> None:
    # An asynchronous invocation (the pusher) can be killed at a point as a synchronous one can (`crash`).
    invocation = _Invocation(name, event, context.aws_request_id)

    def run() -> None:
        _current.set(invocation)
        with _in_flight_lock:
            _in_flight.add(invocation)
        try:
            # An asynchronous invocation's error goes to its logs (and Lambda's retries), never to a caller.
            with contextlib.suppress(Exception), _running(name, context):
                _reached(BEFORE)
                handler(event, context)
                _reached(AFTER)
        finally:
            with _in_flight_lock:
                _in_flight.discard(invocation)

    _Instance.take(name).run(contextvars.copy_context(), run, timeout, invocation.answered)


# The asynchronous invocations running now, by function: end_invocations brings them to their deadline.
_live: dict[str, list[LocalContext]] = {}


@contextlib.contextmanager
def _running(name: str, context: LocalContext) -> Any:
    with _lock:
        _live.setdefault(name, []).append(context)
    try:
        yield
    finally:
        with _lock:
            if context in _live[name]:  # a killed invocation was taken off already
                _live[name].remove(context)


def end_invocations(function_name: str, wait_s: float = 15.0) -> None:
    """Bring the function's running asynchronous invocations to their deadline now (a handler that watches its
    remaining time, as the pusher does, finishes what it has in hand and ends) and wait until none runs. The
    local stack's reset uses it: a pusher of the previous test must not drain the next test's fresh table
    with what it cached (its lease, its clients) before the table was wiped."""
    deadline = time.monotonic() + wait_s
    while True:
        with _lock:
            running = list(_live.get(function_name, []))
        if not running or time.monotonic() > deadline:
            return
        for context in running:
            context.timeout_s = 0.0
        time.sleep(0.05)


class _Events:
    """A function's invocations under its reserved concurrency: the synchronous ones get a slot at once or are
    refused (`enter`), the asynchronous ones wait in the function's queue and each runs as soon as a slot is
    free (Lambda keeps a throttled event and tries it again; it never runs more instances than reserved)."""

    _lock = threading.Lock()
    _reserved: dict[str, int] = {}
    _running: dict[str, int] = {}  # invocations in a slot now, synchronous and asynchronous together
    _waiting: dict[str, list[tuple[Callable[[], None], contextvars.Context]]] = {}
    throttled: dict[str, int] = {}  # synchronous invokes refused with TooManyRequestsException

    @classmethod
    def enter(cls, name: str) -> bool:
        """A slot for a synchronous invocation now, or False (throttled)."""
        with cls._lock:
            limit = cls._reserved.get(name)
            if limit is not None and cls._running.get(name, 0) >= limit:
                return False
            cls._running[name] = cls._running.get(name, 0) + 1
            return True

    @classmethod
    def leave(cls, name: str) -> None:
        with cls._lock:
            cls._running[name] -= 1
        cls._start(name)

    @classmethod
    def submit(cls, name: str, job: Callable[[], None], context: contextvars.Context) -> None:
        with cls._lock:
            cls._waiting.setdefault(name, []).append((job, context))
        cls._start(name)

    @classmethod
    def _start(cls, name: str) -> None:
        with cls._lock:
            limit = cls._reserved.get(name)
            waiting = cls._waiting.get(name) or []
            if not waiting or (limit is not None and cls._running.get(name, 0) >= limit):
                return
            job, context = waiting.pop(0)
            cls._running[name] = cls._running.get(name, 0) + 1

        def go() -> None:
            try:
                context.run(job)
            finally:
                cls.leave(name)

        threading.Thread(target=go, name=f"lambda-event-{name}", daemon=True).start()


def reserve_concurrency(function_name: str, limit: int | None) -> None:
    """Lambda's reserved concurrency of a function (None: unreserved): its invocations at once, at most."""
    with _Events._lock:
        if limit is None:
            _Events._reserved.pop(function_name, None)
        else:
            _Events._reserved[function_name] = limit


def environments(api: bool = False) -> dict[str, dict[str, float]]:
    """Per function: execution environments started (cold starts), the most busy at once, the seconds
    invoked and the synchronous invokes throttled; under "all", the most busy at once of every function together.

    The workflow's functions (the benches' figures); with `api`, the API's functions (`invoke_api`) besides, which
    "all" never counts: its figures stay those of the functions an export runs."""
    with _Instance._idle_lock:
        names = set(_Instance.started) | set(_Instance.peak) | set(_Events.throttled)
        workflow = names - _Instance.api
        counts: dict[str, dict[str, float]] = {
            name: {
                "started": _Instance.started.get(name, 0),
                "peak_busy": _Instance.peak.get(name, 0),
                "seconds": round(_Instance.seconds.get(name, 0.0), 3),
                "throttled": _Events.throttled.get(name, 0),
            }
            for name in sorted(names if api else workflow)
        }
        counts["all"] = {
            "started": sum(_Instance.started.get(name, 0) for name in workflow),
            "peak_busy": _Instance.peak_all,
            "seconds": round(sum(_Instance.seconds.get(name, 0.0) for name in workflow), 3),
            "throttled": sum(_Events.throttled.values()),
        }
        return counts


def reset_environment_counts() -> None:
    """From now on (the warm environments stay warm, as Lambda keeps them)."""
    with _Instance._idle_lock:
        _Instance.started.clear()
        _Instance.seconds.clear()
        _Events.throttled.clear()
        _Instance.peak = {name: busy for name, busy in _Instance.busy.items() if busy}
        _Instance.peak_all = _Instance.busy_workflow()


class _Instance:
    """One warm execution environment of a function: a thread that runs one invocation at a time."""

    _idle: dict[str, list[_Instance]] = {}
    _idle_lock = threading.Lock()
    # Counted for the benchmarks: environments started, busy now, and the most busy at once, per function.
    started: dict[str, int] = {}
    busy: dict[str, int] = {}
    peak: dict[str, int] = {}
    peak_all = 0  # the most environments busy at once, all functions together
    seconds: dict[str, float] = {}  # invocation time per function (Lambda bills it, GB-s)
    api: set[str] = set()  # the API's functions (`invoke_api`): counted per function, never in peak_all

    @classmethod
    def busy_workflow(cls) -> int:  # under _idle_lock
        return sum(busy for name, busy in cls.busy.items() if name not in cls.api)

    def __init__(self, name: str) -> None:
        self.name = name
        with self._idle_lock:
            self.started[name] = self.started.get(name, 0) + 1
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name=f"lambda-{name}", daemon=True).start()

    @classmethod
    def take(cls, name: str) -> _Instance:
        """An idle instance of `name`, or a new one (a cold start) when all are busy."""
        with cls._idle_lock:
            idle = cls._idle.get(name)
            if idle:
                return idle.pop()
        return cls(name)

    @classmethod
    def retire_all(cls) -> None:
        with cls._idle_lock:
            instances = [instance for idle in cls._idle.values() for instance in idle]
            cls._idle.clear()
        for instance in instances:
            instance._jobs.put(None)

    def run(
        self,
        context: contextvars.Context,
        job: Callable[[], None],
        timeout: float,
        done: threading.Event | None = None,
    ) -> bool:
        """Run `job` in `context` on this instance; False when it did not end within `timeout` seconds.

        `done` may be set from outside (a killed invocation answers at once); the instance is then never
        reused, as its job never returns."""
        done = done or threading.Event()
        state = {"abandoned": False, "finished": False, "released": False}
        with self._idle_lock:
            self.busy[self.name] = busy = self.busy.get(self.name, 0) + 1
            self.peak[self.name] = max(self.peak.get(self.name, 0), busy)
            _Instance.peak_all = max(_Instance.peak_all, _Instance.busy_workflow())
        began = time.monotonic()

        def release() -> None:  # under _idle_lock: the environment is no longer busy (once)
            if not state["released"]:
                state["released"] = True
                self.busy[self.name] -= 1
                self.seconds[self.name] = self.seconds.get(self.name, 0.0) + time.monotonic() - began

        def invocation() -> None:
            try:
                context.run(job)
            finally:
                with self._idle_lock:
                    release()
                    state["finished"] = True
                    abandoned = state["abandoned"]
                    if not abandoned:
                        done.set()
                        self._idle.setdefault(self.name, []).append(self)
            if abandoned:
                self._jobs.put(None)  # a timed-out environment is discarded

        self._jobs.put(invocation)
        if done.wait(timeout):
            with self._idle_lock:
                if not state["finished"]:
                    # Killed (its caller answered Runtime.ExitError): the environment is gone and never reused;
                    # it no longer counts as busy (its thread never returns).
                    state["abandoned"] = True
                    release()
            return True
        with self._idle_lock:
            if done.is_set():
                return True
            state["abandoned"] = True
        return False

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()


def register(function_name: str, handler: Handler, timeout_s: float = MAX_TIMEOUT_S) -> None:
    with _lock:
        _registry[function_name] = handler
        _timeouts[function_name] = min(timeout_s, MAX_TIMEOUT_S)


def set_timeout(function_name: str, timeout_s: float) -> float:
    """Give a registered function another timeout (at most Lambda's 15 minutes); answers the previous one."""
    with _lock:
        previous = _timeouts.get(function_name, MAX_TIMEOUT_S)
        _timeouts[function_name] = min(timeout_s, MAX_TIMEOUT_S)
        return previous


def _lambda_task_error(self: StateTaskLambda, env: Any, ex: Exception) -> Any:
    """A Lambda task (`"Resource": <function ARN>`) whose Invoke the Lambda service refused: Step Functions
    names the error `Lambda.<code>` (Lambda.TooManyRequestsException when it is throttled), as AWS documents
    it and as moto's `lambda:invoke` integration already does; moto 5.2.5 names it "Exception"."""
    if isinstance(ex, ClientError):
        code, message = ex.response["Error"]["Code"], ex.response["Error"]["Message"]
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(f"Lambda.{code}"),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(
                    error=f"Lambda.{code}", cause=message
                )
            ),
        )
    return _original_lambda_task_error(self, env, ex)


_original_lambda_task_error = StateTaskLambda._from_error


def install() -> None:
    """Route invocations of registered functions to their Python handlers (idempotent)."""
    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
    httpx.Client.send = _send_unless_killed  # type: ignore[method-assign]
    StateTaskLambda._from_error = _lambda_task_error  # type: ignore[method-assign]
    crashpoints.install(_reached)
    resolver_state.install()


def uninstall() -> None:
    LambdaSimpleBackend.invoke = _original_invoke  # type: ignore[method-assign]
    httpx.Client.send = _original_send  # type: ignore[method-assign]
    StateTaskLambda._from_error = _original_lambda_task_error  # type: ignore[method-assign]
    crashpoints.install(None)
    resolver_state.uninstall()
    clear_crashes()
    _Instance.retire_all()
    _Events._reserved.clear()
    _registry.clear()
    _timeouts.clear()


# ---- killing an invocation at a chosen point ------------------------------------------------------------

BEFORE = "invocation.before"  # the handler has not begun: nothing of its work is done
AFTER = "invocation.after"  # the handler returned: its work is done, its answer never reaches the caller
KILLED_ERROR = "Runtime.ExitError"  # what Lambda answers for a runtime that exited mid-invocation


@dataclass(eq=False)
class _Invocation:
    function: str
    event: dict[str, Any]
    request_id: str
    answered: threading.Event = field(default_factory=threading.Event)
    killed_at: str | None = None

    def exit_error(self) -> dict[str, Any]:
        return {
            "errorType": KILLED_ERROR,
            "errorMessage": f"RequestId: {self.request_id} Error: Runtime exited with error: signal: killed",
        }


@dataclass
class Crash:
    """Kill the `nth` (and `times - 1` after it) invocation of `function` whose event holds `where`, when it
    reaches `point`. Counting starts when the crash is armed."""

    point: str
    function: str | None = None
    where: dict[str, Any] = field(default_factory=dict)
    nth: int = 1
    times: int = 1
    delay_s: float = 0.0  # > 0: the invocation stalls there that long and goes on (a slow one), not killed
    seen: int = 0
    killed: list[dict[str, Any]] = field(default_factory=list)

    def matches(self, point: str, invocation: _Invocation) -> bool:
        if point != self.point or self.function not in (None, invocation.function):
            return False
        return all(invocation.event.get(key) == value for key, value in self.where.items())

    def fires(self) -> bool:
        self.seen += 1
        return self.nth <= self.seen < self.nth + self.times


_crashes: list[Crash] = []
_crash_lock = threading.Lock()
_current: contextvars.ContextVar[_Invocation | None] = contextvars.ContextVar("invocation", default=None)
_in_flight: set[_Invocation] = set()
_in_flight_lock = threading.Lock()


def crash(
    point: str,
    function: str | None = None,
    *,
    nth: int = 1,
    times: int = 1,
    delay_s: float = 0.0,
    **where: Any,
) -> Crash:
    """Arm a crash (see `Crash`); `function` is the registered name (abax-payroll-export-steps, …)."""
    armed = Crash(point, function, dict(where), nth, times, delay_s)
    with _crash_lock:
        _crashes.append(armed)
    return armed


def crashes() -> list[Crash]:
    with _crash_lock:
        return list(_crashes)


def clear_crashes() -> None:
    with _crash_lock:
        _crashes.clear()


def _reached(point: str) -> None:
    """The crashpoints hook: kill the invocation running here when an armed crash fires at `point`."""
    invocation = _current.get()
    if invocation is not None and invocation.killed_at is not None:
        _die()  # another thread of a killed invocation
    with _crash_lock:
        if not _crashes:
            return
        if invocation is None:
            # A thread the handler started (Python 3.11's threads do not inherit the context): the one
            # in-flight invocation a crash at this point could mean.
            with _in_flight_lock:
                candidates = [i for i in _in_flight if any(c.matches(point, i) for c in _crashes)]
            if len(candidates) != 1:
                return
            invocation = candidates[0]
        fired = next((c for c in _crashes if c.matches(point, invocation) and c.fires()), None)
        if fired is None:
            return
        fired.killed.append({"point": point, "function": invocation.function, "event": invocation.event})
        stall = fired.delay_s
        if not stall:
            invocation.killed_at = point
    if stall:
        time.sleep(stall)
        return
    with _in_flight_lock:
        _in_flight.discard(invocation)
    with _lock:  # a dead invocation is no longer running: end_invocations must not wait for it
        for contexts in _live.values():
            contexts[:] = [c for c in contexts if c.aws_request_id != invocation.request_id]
    invocation.answered.set()
    _die()


def _die_if_killed() -> None:
    """A thread of a killed invocation (one the handler started, in a copy of its context) dies here: the
    process it belongs to is gone."""
    invocation = _current.get()
    if invocation is not None and invocation.killed_at is not None:
        _die()


def _before_aws_call(**_: Any) -> None:
    _die_if_killed()


# Every botocore session made from now on calls it before each AWS call (as local/iam.py's hook is installed).
BUILTIN_HANDLERS.append(("before-parameter-build", _before_aws_call))
_original_send = httpx.Client.send


def _send_unless_killed(self: httpx.Client, *args: Any, **kwargs: Any) -> httpx.Response:
    _die_if_killed()
    return _original_send(self, *args, **kwargs)


def _die() -> NoReturn:
    # The process is gone: this thread never runs another line of the invocation. It is taken off the joins
    # at interpreter exit (a ThreadPoolExecutor's worker is joined at exit, daemon or not), which would
    # otherwise wait for it for ever: the local stack's one reach into CPython's threading internals.
    thread = threading.current_thread()
    concurrent.futures.thread._threads_queues.pop(thread, None)  # type: ignore[attr-defined]
    if not thread.daemon:
        with threading._shutdown_locks_lock:  # type: ignore[attr-defined]
            threading._shutdown_locks.discard(getattr(thread, "_tstate_lock", None))  # type: ignore[attr-defined]
    while True:
        threading.Event().wait()
