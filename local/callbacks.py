"""Step Functions' callback pattern (`.waitForTaskToken`) in moto's interpreter, made faithful where it is not.

moto 5.2.5's interpreter (a port of LocalStack's) already puts a task token in the context object
(`$$.Task.Token`), waits for SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat, and fails the task with
States.Timeout after its TimeoutSeconds. Three gaps against AWS's documentation of the callback pattern and
its error names, closed here (pinned by tests/workflow/test_task_token_callbacks.py):

- SendTaskFailure's `cause` is dropped by moto's HTTP layer: the Catch's `$.error.Cause` came out empty.
- A heartbeat timeout is reported as States.Timeout only. AWS reports States.HeartbeatTimeout, which a
  Retry or Catch on States.HeartbeatTimeout matches, and so does one on States.Timeout.
- StopExecution leaves a task that waits on its token waiting (until its TimeoutSeconds), so the run reads
  RUNNING long after it was stopped. In AWS a stopped run is ABORTED at once and its token closed: here the
  stop interrupts the run's waiting tasks, so the run ends (ABORTED) as soon as the interpreter notices.
- An answer that arrives before the invoked function returned (the pusher answered a chunk the enqueue had
  only just queued) is lost when the task has HeartbeatSeconds: the waiter looks only for a heartbeat and
  then reports a heartbeat timeout. AWS takes the answer whenever it arrives while the task is open.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import EmptyResult
from moto.stepfunctions.parser.api import HistoryEventType, TaskTimedOutEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.eval.callback.callback import HeartbeatTimedOut, HeartbeatTimeoutError
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.responses import StepFunctionResponse

_HEARTBEAT = StatesErrorName(typ=StatesErrorNameType.StatesHeartbeatTimeout)
_TIMEOUT = StatesErrorName(typ=StatesErrorNameType.StatesTimeout)

_originals: dict[str, Any] = {}


def _send_task_failure(self: StepFunctionResponse) -> Any:
    self.stepfunction_backend.send_task_failure(  # the parser backend's, which takes the cause
        self._get_param("taskToken"),
        error=self._get_param("error"),
        cause=self._get_param("cause"),  # type: ignore[call-arg]
    )
    return EmptyResult()


def _from_error(self: StateTask, env: Any, ex: Exception) -> FailureEvent:
    if isinstance(ex, HeartbeatTimeoutError):
        return FailureEvent(
            env=env,
            error_name=_HEARTBEAT,
            event_type=HistoryEventType.TaskTimedOut,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                taskTimedOutEventDetails=TaskTimedOutEventDetails(error=_HEARTBEAT.error_name)
            ),
        )
    return _originals["from_error"](self, env, ex)  # type: ignore[no-any-return]


def _error_equals(self: ErrorEqualsDecl, env: Any) -> None:
    error_name = env.stack[-1]
    if error_name == _HEARTBEAT and _TIMEOUT in self.error_names:
        env.stack.pop()
        env.stack.append(True)
        return
    _originals["error_equals"](self, env)


def _wait_with_heartbeat(
    self: StateTaskServiceCallback, env: Any, callback_endpoint: Any, heartbeat: Any
) -> Any:
    outcome = callback_endpoint.get_outcome()  # answered before the invoked function returned
    while outcome is None and env.is_running():
        received = heartbeat.clear_and_wait()
        outcome = callback_endpoint.get_outcome()
        if outcome is None and not received and env.is_running():
            outcome = HeartbeatTimedOut()
    return outcome


def _set_stop(self: Environment, stop_date: Any, cause: Any, error: Any) -> None:
    _originals["set_stop"](self, stop_date, cause, error)
    for endpoint in list(self.callback_pool_manager._pool.values()):
        endpoint.interrupt_all()  # its waiter sees the run no longer running, and ends


def install() -> None:
    if _originals:
        return
    _originals["send_task_failure"] = StepFunctionResponse.send_task_failure
    _originals["from_error"] = StateTask._from_error
    _originals["error_equals"] = ErrorEqualsDecl._eval_body
    _originals["heartbeat_wait"] = StateTaskServiceCallback._wait_for_task_token_heartbeat
    _originals["set_stop"] = Environment.set_stop
    Environment.set_stop = _set_stop  # type: ignore[method-assign]
    StepFunctionResponse.send_task_failure = _send_task_failure  # type: ignore[method-assign]
    StateTask._from_error = _from_error  # type: ignore[method-assign]
    ErrorEqualsDecl._eval_body = _error_equals  # type: ignore[method-assign]
    StateTaskServiceCallback._wait_for_task_token_heartbeat = _wait_with_heartbeat  # type: ignore[method-assign, assignment]


def uninstall() -> None:
    if not _originals:
        return
    StepFunctionResponse.send_task_failure = _originals.pop("send_task_failure")  # type: ignore[method-assign]
    StateTask._from_error = _originals.pop("from_error")  # type: ignore[method-assign]
    ErrorEqualsDecl._eval_body = _originals.pop("error_equals")  # type: ignore[method-assign]
    StateTaskServiceCallback._wait_for_task_token_heartbeat = _originals.pop("heartbeat_wait")  # type: ignore[method-assign]
    Environment.set_stop = _originals.pop("set_stop")  # type: ignore[method-assign]
