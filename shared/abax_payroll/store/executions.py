"""The export workflow's runs: the port the use cases start an export through, and its Step Functions adapter."""

from __future__ import annotations

import json
from typing import Any, Protocol

import boto3


class ExportRuns(Protocol):
    def execution_arn(self, export_id: str) -> str:
        """Where the run of this export will be found (known before it starts)."""
        ...

    def start(self, tenant_id: str, export_id: str) -> str:
        """Start the export's run; answers the run's id (its execution ARN)."""
        ...


class StepFunctionsRuns:
    """One Step Functions execution per export, named by the export id (so a second start is refused)."""

    def __init__(self, state_machine_arn: str | None, client: Any = None):
        self.state_machine_arn = state_machine_arn or ""
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("stepfunctions")
        return self._client

    def execution_arn(self, export_id: str) -> str:
        """arn:aws:states:…:stateMachine:NAME → arn:aws:states:…:execution:NAME:<export id> (the execution's name)."""
        return self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{export_id}"

    def start(self, tenant_id: str, export_id: str) -> str:
        execution = self.client.start_execution(
            stateMachineArn=self.state_machine_arn,
            name=export_id,
            input=json.dumps({"tenant_id": tenant_id, "export_id": export_id}),
        )
        return str(execution["executionArn"])
