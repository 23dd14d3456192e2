"""The export workflow's runs: the port the use cases start an export through, and its Step Functions adapter."""

from __future__ import annotations

import json
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError

from .table import RETRIES

# A token whose task no longer waits: its run ended (stopped, timed out) or it was answered already.
TASK_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}
CAUSE_MAX = 32_768  # SendTaskFailure's cause: at most 32,768 characters


class ExportRuns(Protocol):
    def execution_arn(self, export_id: str, action: str = "export", attempt: int = 0) -> str:
        """Where the run of this export (or of its attempt-th recovery action) will be found, before it starts."""
        ...

    def start(self, tenant_id: str, export_id: str, action: str = "export", attempt: int = 0) -> str:
        """Start the export's run (or a rollback/resume of it); answers the run's id (its execution ARN)."""
        ...

    def start_search(self, tenant_id: str, preview_id: str) -> str:
        """Go on reading a search's period from ABAX after the API call answered 202."""
        ...

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        """The run as Step Functions describes it (status, input, stop date, error, cause); None if it was
        never started."""
        ...

    def is_running(self, run: str) -> bool:
        """Whether the run (an execution ARN) is still RUNNING."""
        ...

    def succeed_task(self, token: str, output: str) -> bool:
        """Answer a waiting task (SendTaskSuccess); False when it no longer waits (its run ended)."""
        ...

    def fail_task(self, token: str, error: str, cause: str) -> bool:
        """Fail a waiting task with `error` (its Catch's name) and `cause`; False when it no longer waits."""
        ...

    def heartbeat(self, token: str) -> bool:
        """Tell a waiting task it is still being worked on; False when it no longer waits."""
        ...


class StepFunctionsRuns:
    """One Step Functions execution per export, named by the export id (so a second start is refused)."""

    def __init__(self, state_machine_arn: str | None, client: Any = None):
        self.state_machine_arn = state_machine_arn or ""
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("stepfunctions", config=RETRIES)
        return self._client

    def execution_arn(self, export_id: str, action: str = "export", attempt: int = 0) -> str:
        """arn:aws:states:…:stateMachine:NAME → arn:aws:states:…:execution:NAME:<execution name>."""
        return (
            self.state_machine_arn.replace(":stateMachine:", ":execution:", 1)
            + f":{_name(export_id, action, attempt)}"
        )

    def start(self, tenant_id: str, export_id: str, action: str = "export", attempt: int = 0) -> str:
        execution = self.client.start_execution(
            stateMachineArn=self.state_machine_arn,
            name=_name(export_id, action, attempt),
            input=json.dumps({"tenant_id": tenant_id, "export_id": export_id, "action": action}),
        )
        return str(execution["executionArn"])

    def start_search(self, tenant_id: str, preview_id: str) -> str:
        """The same state machine's search branch (execution name search-<preview id>, never an export id)."""
        execution = self.client.start_execution(
            stateMachineArn=self.state_machine_arn,
            name=f"search-{preview_id}",
            input=json.dumps({"kind": "search", "tenant_id": tenant_id, "preview_id": preview_id}),
        )
        return str(execution["executionArn"])

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        try:
            return dict(self.client.describe_execution(executionArn=execution_arn))
        except self.client.exceptions.ExecutionDoesNotExist:
            return None

    def is_running(self, run: str) -> bool:
        return bool(self.client.describe_execution(executionArn=run)["status"] == "RUNNING")

    def succeed_task(self, token: str, output: str) -> bool:
        return self._answer(self.client.send_task_success, taskToken=token, output=output)

    def fail_task(self, token: str, error: str, cause: str) -> bool:
        return self._answer(
            self.client.send_task_failure, taskToken=token, error=error[:256], cause=cause[:CAUSE_MAX]
        )

    def heartbeat(self, token: str) -> bool:
        return self._answer(self.client.send_task_heartbeat, taskToken=token)

    @staticmethod
    def _answer(call: Any, **params: Any) -> bool:
        try:
            call(**params)
        except ClientError as error:
            if error.response["Error"]["Code"] in TASK_GONE:
                return False
            raise
        return True


def _name(export_id: str, action: str, attempt: int) -> str:
    """The export id for the export itself; `<export id>-<action>-<n>` for a user's rollback or resume of it."""
    return export_id if action == "export" else f"{export_id}-{action}-{attempt}"
