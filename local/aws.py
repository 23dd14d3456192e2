"""AWS on one machine: DynamoDB, Secrets Manager, Lambda and Step Functions in moto, the real ASL executed."""

from __future__ import annotations

import io
import json
import os
import threading
import zipfile
from importlib import resources
from typing import Any

import boto3
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from . import lambda_runtime

REGION = "eu-north-1"
ACCOUNT = "123456789012"
TABLE = "abax-payroll"
STATE_MACHINE = "abax-payroll-export"
FUNCTIONS = {
    # logical name in the ASL -> (function name, handler import path)
    "ExportStepsFunctionArn": ("abax-payroll-export-steps", "functions.export.steps:handler"),
    "RollbackFunctionArn": ("abax-payroll-rollback", "functions.rollback.app:handler"),
}
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


_dynamodb_lock = threading.RLock()
_original_dynamodb_call = DynamoHandler.call_action


def _serialised_dynamodb_call(self: DynamoHandler) -> Any:
    with _dynamodb_lock:
        return _original_dynamodb_call(self)


def serialise_dynamodb() -> None:
    """One DynamoDB request at a time inside moto.

    moto's TransactWriteItems deep-copies the whole table to roll back on failure, without a lock: a write
    from another thread meanwhile raises "dictionary changed size during iteration", and the restore wipes
    the other thread's write. DynamoDB itself has no such race, and the local stack runs many executions
    on threads at once, so moto's DynamoDB handler is serialised here (pinned moto: see lambda_runtime).
    """
    DynamoHandler.call_action = _serialised_dynamodb_call  # type: ignore[method-assign]


def asl_definition() -> str:
    """The one ASL file the CDK app deploys, read from the installed package."""
    return resources.files("abax_payroll.workflow").joinpath("export_state_machine.asl.json").read_text()


def substitute(definition: str, arns: dict[str, str]) -> str:
    for name, arn in arns.items():
        definition = definition.replace("${" + name + "}", arn)
    return definition


def _load_handler(path: str) -> Any:
    module_name, attribute = path.split(":")
    module = __import__(module_name, fromlist=[attribute])
    return getattr(module, attribute)


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


class LocalAws:
    """Start moto process-wide, create the table, the functions and the state machine."""

    def __init__(self, definition: str | None = None):
        self._mock = mock_aws(config=MOTO_CONFIG)
        self._definition = definition
        self.state_machine_arn = ""
        self.function_arns: dict[str, str] = {}

    def start(self) -> LocalAws:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ["AWS_DEFAULT_REGION"] = REGION
        os.environ.pop("AWS_PROFILE", None)
        self._mock.start()
        lambda_runtime.install()
        serialise_dynamodb()
        create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(
            RoleName="abax-payroll-local",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        lambda_client = boto3.client("lambda", region_name=REGION)
        for logical, (name, handler_path) in FUNCTIONS.items():
            arn = lambda_client.create_function(
                FunctionName=name,
                Runtime="python3.13",
                Role=role,
                Handler="index.handler",
                Code={"ZipFile": _dummy_zip()},
            )["FunctionArn"]
            self.function_arns[logical] = arn
            lambda_runtime.register(name, _load_handler(handler_path))
        definition = substitute(self._definition or asl_definition(), self.function_arns)
        self.state_machine_arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name=STATE_MACHINE, definition=definition, roleArn=role, type="STANDARD"
        )["stateMachineArn"]
        return self

    def stop(self) -> None:
        DynamoHandler.call_action = _original_dynamodb_call  # type: ignore[method-assign]
        lambda_runtime.uninstall()
        self._mock.stop()


def create_table(client: Any, name: str) -> None:
    """The same key schema the CDK data construct deploys."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"} for attribute in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
