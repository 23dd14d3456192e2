"""AWS on one machine: DynamoDB, S3, Secrets Manager, Lambda and Step Functions in moto, the real ASL executed."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
import moto.dynamodb.models as moto_dynamodb_models
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped, ProgramTimedOut
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution

from . import callbacks, lambda_runtime
from . import iam as local_iam
from .event_sources import ExecutionEndEvents, SqsEventSource

REGION = "eu-north-1"
ACCOUNT = "123456789012"
TABLE = "abax-payroll"
SNAPSHOT_BUCKET = "abax-payroll-snapshots"
STATE_MACHINE = "abax-payroll-export"
# The state machine's role in local/roles.json (its CDK construct's name).
STATE_MACHINE_ROLE = "ExportStateMachine"
FUNCTIONS = {
    # logical name in the ASL -> (function name, handler import path)
    "ExportStepsFunctionArn": ("abax-payroll-export-steps", "functions.export.steps:handler"),
    "RollbackFunctionArn": ("abax-payroll-rollback", "functions.rollback.app:handler"),
    # Not named in the ASL: ExportSteps wakes it (an asynchronous invoke) when it queues a chunk.
    "PusherFunctionArn": ("abax-payroll-pusher", "functions.export.pusher:handler"),
}
# The scheduled-starts queue (AWS: a 12-minute visibility timeout, 6 × the function's timeout; here a failed
# start comes back at once, see local/event_sources.py).
SCHEDULED_STARTS_QUEUE = "abax-payroll-scheduled-starts"
SCHEDULED_STARTS_VISIBILITY_TIMEOUT = 120
# Function name here -> its name in the CDK app (local/roles.json): whose role and environment it runs with.
CDK_NAMES = {
    "abax-payroll-export-steps": "ExportSteps",
    "abax-payroll-rollback": "Rollback",
    "abax-payroll-pusher": "Pusher",
}
# The pusher's schedule (EventBridge, rate 1 minute in the CDK app): a pusher that died is replaced.
PUSHER_SCHEDULE_S = 60.0
# The platform's own secrets, by the names cdk.json gives them (the operator creates them in AWS).
POWEROFFICE_KEYS_SECRET = "abax-payroll/poweroffice-keys"
# (ABAX has none: every company connects its own ABAX API client, kept per tenant like its PowerOffice key.)
PLATFORM_SECRETS = (POWEROFFICE_KEYS_SECRET,)
# Plain secret values: only the local stack's own harness may read them from its environment; a function reads
# the secrets its role grants (local/iam.py).
SECRET_VARIABLES = ("POWEROFFICE_APPLICATION_KEY", "POWEROFFICE_SUBSCRIPTION_KEY")
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


_dynamodb_lock = threading.RLock()
_original_dynamodb_call = DynamoHandler.call_action


def _serialised_dynamodb_call(self: DynamoHandler) -> Any:
    with _dynamodb_lock:
        return _original_dynamodb_call(self)


class _TablesKeptInPlace:
    """Stands in for the `copy` module inside moto's DynamoDB backend, whose only use of a Table's deep copy is
    TransactWriteItems' backup: a Table 'copies' as itself; anything else is copied as `copy` would."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


_original_transact_write_items = DynamoDBBackend.transact_write_items


def _transact_write_items_backing_up_its_items(
    self: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> None:
    """moto's TransactWriteItems, with the backup it rolls back to on a cancelled transaction made of the items
    the transaction names instead of a deep copy of every table it names. The copy was O(table) per action:
    with every fenced write a transaction, the month-end bench and the suite spent most of their DynamoDB time
    copying the table. Under the lock of serialise_dynamodb nothing else writes meanwhile, so restoring the
    named items restores the state moto's own backup would."""
    backup: list[tuple[Table, DynamoType, DynamoType | None, Any]] = []
    for action in transact_items:
        operation = next(iter(action.values()), None)
        table = self.tables.get(operation.get("TableName")) if isinstance(operation, dict) else None
        if table is None:
            continue
        key = operation.get("Key") or operation.get("Item") or {}
        names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
        if any(name not in key for name in names):
            continue  # moto refuses the action before it changes anything
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        backup.append(
            (table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value)))
        )
    try:
        _original_transact_write_items(self, transact_items)
    except Exception:
        for table, hash_value, range_value, before in reversed(backup):  # the first backup of a key wins
            held = table.items[hash_value] if range_value is not None else table.items
            key_value = range_value if range_value is not None else hash_value
            held.pop(key_value, None)
            if before is not None:
                held[key_value] = before
        raise


def serialise_dynamodb() -> None:
    """One DynamoDB request at a time inside moto.

    moto's TransactWriteItems deep-copies the whole table to roll back on failure, without a lock: a write
    from another thread meanwhile raises "dictionary changed size during iteration", and the restore wipes
    the other thread's write. DynamoDB itself has no such race, and the local stack runs many executions
    on threads at once, so moto's DynamoDB handler is serialised here (pinned moto: see lambda_runtime).
    Serialised, its backup can be of the items a transaction names (_transact_write_items_backing_up_its_items).
    """
    DynamoHandler.call_action = _serialised_dynamodb_call  # type: ignore[method-assign]
    moto_dynamodb_models.copy = _TablesKeptInPlace  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = _transact_write_items_backing_up_its_items  # type: ignore[method-assign]


_original_parse = AmazonStateLanguageParser.parse
# Definition text -> its ANTLR parse tree (the product's machine and the few a test builds).
_parse_trees: dict[str, Any] = {}
_parse_trees_lock = threading.Lock()


def _parse_each_definition_once(definition: str) -> tuple[Any, Any]:
    with _parse_trees_lock:
        tree = _parse_trees.get(definition)
    if tree is None:
        program, tree = _original_parse(definition)  # a definition with a syntax error raises, as before
        with _parse_trees_lock:
            _parse_trees[definition] = tree
        return program, tree
    # A fresh program from the kept tree: no execution shares an evaluation component with another.
    return Preprocessor().visit(tree), tree


def parse_each_definition_once() -> None:
    """moto parses the state machine's definition again at every StartExecution: with ANTLR's Python runtime
    that took 0.2-0.4 s of CPU per run of the product's 17 KB definition, before its first state. The parse
    tree of a definition is kept and each execution gets its own program built from it, as before."""
    AmazonStateLanguageParser.parse = staticmethod(_parse_each_definition_once)  # type: ignore[method-assign]


_original_lambda_task = lambda_eval_utils.execute_lambda_function_integration


# The product's state machine (and any that stands in for it: use_state_machine) runs as its role; a probe
# machine a test builds around its own functions is left alone.
_product_machines: set[str] = set()


def _lambda_task_as_state_machine(env: Environment, *args: Any, **kwargs: Any) -> Any:
    machine = env.states.context_object.context_object_data["StateMachine"]["Id"]
    if machine not in _product_machines:
        return _original_lambda_task(env, *args, **kwargs)
    with local_iam.as_function(STATE_MACHINE_ROLE):
        return _original_lambda_task(env, *args, **kwargs)


def run_tasks_as_state_machine() -> None:
    """The interpreter's Lambda tasks invoke with the state machine's role (local/roles.json's
    `state_machines`), so a task function its role does not name is refused as in AWS (AccessDenied)."""
    lambda_eval_utils.execute_lambda_function_integration = _lambda_task_as_state_machine


_original_set_error = Environment.set_error


def _set_error_unless_ended(self: Environment, error: Any) -> None:
    if isinstance(self._program_state, ProgramStopped | ProgramTimedOut):
        return
    _original_set_error(self, error)


def keep_stopped_runs_stopped() -> None:
    """A stopped (ABORTED) or timed-out run stays so, as in AWS.

    moto's interpreter turns a StopExecution that lands while a Map iterates into FAILED (States.Runtime: its
    Map reads the stop's error string as a dict), and a timed-out run whose worker thread errors later into
    FAILED as well; Step Functions reports ABORTED and TIMED_OUT. A run that ended so keeps its end here.
    """
    Environment.set_error = _set_error_unless_ended  # type: ignore[method-assign]


_original_stop = Execution.stop
_original_reflect = BaseExecutionWorkerCommunication._reflect_execution_status
_original_terminated = BaseExecutionWorkerCommunication.terminated
# Called when a run ends (stopped, timed out, or its program ended): EventBridge's rule looks at once.
_end_listeners: list[Callable[[str], None]] = []
_ENDED_AT_ONCE = (ExecutionStatus.ABORTED, ExecutionStatus.TIMED_OUT)


def _stop_at_once(self: Execution, stop_date: Any, error: str | None, cause: str | None) -> None:
    _original_stop(self, stop_date=stop_date, error=error, cause=cause)
    if self.exec_status == ExecutionStatus.RUNNING:
        self.exec_status = ExecutionStatus.ABORTED
        self.stop_date = stop_date
    _ended(self.execution_arn)


def _reflect_unless_ended(self: BaseExecutionWorkerCommunication) -> None:
    if self.execution.exec_status in _ENDED_AT_ONCE and self.execution.stop_date is not None:
        return  # ended at its stop (or time limit), when AWS says so; the interpreter only caught up now
    _original_reflect(self)


def _terminated_and_said(self: BaseExecutionWorkerCommunication) -> None:
    _original_terminated(self)
    _ended(self.execution.execution_arn)


def _ended(execution_arn: str) -> None:
    for listener in list(_end_listeners):
        listener(execution_arn)


def stop_runs_as_aws_does() -> None:
    """A StopExecution ends the run at once, as in AWS: DescribeExecution says ABORTED (with its stop date) and
    the status-change event goes out now, while the Lambda invocation of the task it was in runs on to its end
    (AWS does not stop it; its writes are refused by the fence, see ExportStore.fence).

    moto's interpreter marks a stopped run ABORTED only once its current task returned: a slow step hid that
    a stopped run's invocation still writes after its end was recorded. A run past its TimeoutSeconds is
    TIMED_OUT at once in moto already; both now tell the event source (ExecutionEndEvents) at once.
    """
    Execution.stop = _stop_at_once  # type: ignore[method-assign]
    BaseExecutionWorkerCommunication._reflect_execution_status = _reflect_unless_ended  # type: ignore[method-assign]
    BaseExecutionWorkerCommunication.terminated = _terminated_and_said  # type: ignore[method-assign]


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


def export_steps_concurrency() -> int:
    """The ExportSteps function's reserved concurrency as a plain `cdk deploy` sets it (cdk.json's context)."""
    cdk_json = Path(__file__).resolve().parent.parent / "cdk.json"
    if not cdk_json.exists():  # an installed package without the repository: the CDK app's own default
        return 8
    return int(json.loads(cdk_json.read_text())["context"]["export_steps_reserved_concurrency"])


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


class LocalAws:
    """Start moto process-wide, create the table, the keys and secrets, the functions and the state machine.

    Every function runs with its synthesized role enforced and its synthesized environment for everything
    that names a resource or a secret (`function_environment`); see local/iam.py.
    """

    def __init__(self, definition: str | None = None, roles: dict[str, Any] | None = None):
        self._mock = mock_aws(config=MOTO_CONFIG)
        self._definition = definition
        self._roles = roles
        self.state_machine_arn = ""
        self.function_arns: dict[str, str] = {}
        self.enforcer: local_iam.Enforcer | None = None
        self._resource_environment: dict[str, dict[str, str]] = {}
        self._names: dict[str, str] = {}
        self._roles_in_force: dict[str, Any] = {}
        self.scheduled_starts: SqsEventSource | None = None
        self.execution_ends: ExecutionEndEvents | None = None
        self.pusher_schedule: PusherSchedule | None = None
        self.scheduled_starts_dead_letters_url = ""

    def start(self) -> LocalAws:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ["AWS_DEFAULT_REGION"] = REGION
        os.environ.pop("AWS_PROFILE", None)
        self._mock.start()
        lambda_runtime.install()
        callbacks.install()
        serialise_dynamodb()
        keep_stopped_runs_stopped()
        stop_runs_as_aws_does()
        run_tasks_as_state_machine()
        parse_each_definition_once()
        create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        kms = boto3.client("kms", region_name=REGION)
        table_key = kms.create_key(Description="abax-payroll table")["KeyMetadata"]["Arn"]
        client_keys_key = kms.create_key(Description="abax-payroll client keys")["KeyMetadata"]["Arn"]
        sqs = boto3.client("sqs", region_name=REGION)
        dead_letters = sqs.create_queue(QueueName="abax-payroll-async-dlq")
        starts_dead_letters = sqs.create_queue(QueueName=f"{SCHEDULED_STARTS_QUEUE}-dlq")
        starts_dead_letters_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{SCHEDULED_STARTS_QUEUE}-dlq"
        starts_url = sqs.create_queue(
            QueueName=SCHEDULED_STARTS_QUEUE,
            Attributes={
                "VisibilityTimeout": str(SCHEDULED_STARTS_VISIBILITY_TIMEOUT),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": starts_dead_letters_arn, "maxReceiveCount": "3"}
                ),
            },
        )["QueueUrl"]
        starts_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{SCHEDULED_STARTS_QUEUE}"
        self.scheduled_starts_dead_letters_url = starts_dead_letters["QueueUrl"]
        self.create_platform_secrets()
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=SNAPSHOT_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
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
            lambda_runtime.register(name, self.as_function(CDK_NAMES[name], _load_handler(handler_path)))
        # As the CDK app reserves them: one pusher, and cdk.json's ExportSteps concurrency.
        lambda_runtime.reserve_concurrency(FUNCTIONS["PusherFunctionArn"][0], 1)
        lambda_runtime.reserve_concurrency(FUNCTIONS["ExportStepsFunctionArn"][0], export_steps_concurrency())
        definition = substitute(self._definition or asl_definition(), self.function_arns)
        self.state_machine_arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name=STATE_MACHINE, definition=definition, roleArn=role, type="STANDARD"
        )["stateMachineArn"]
        _product_machines.add(self.state_machine_arn)
        # The synthesized template's references, as the local resources they name.
        names = {
            "AWS::Partition": "aws",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::URLSuffix": "amazonaws.com",
            "DataTable.Ref": TABLE,
            "DataTable.Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}",
            "DataTableKey.Arn": table_key,
            "DataSnapshots.Ref": SNAPSHOT_BUCKET,
            "DataSnapshots.Arn": f"arn:aws:s3:::{SNAPSHOT_BUCKET}",
            "SecretsClientKeysKey.Arn": client_keys_key,
            "WorkflowExportStateMachine.Ref": self.state_machine_arn,
            "WorkflowExportStateMachine.Arn": self.state_machine_arn,
            "WorkflowExportStateMachine.Name": STATE_MACHINE,
            "FunctionsAsyncDeadLetterQueue.Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:abax-payroll-async-dlq",
            "FunctionsAsyncDeadLetterQueue.Ref": dead_letters["QueueUrl"],
            "FunctionsScheduledStarts.Arn": starts_arn,
            "FunctionsScheduledStarts.Ref": starts_url,
            "FunctionsScheduledStartsDeadLetters.Arn": starts_dead_letters_arn,
            "FunctionsScheduledStartsDeadLetters.Ref": starts_dead_letters["QueueUrl"],
        }
        # The task functions, as the state machine's role names them (FunctionsExportSteps.Arn, …).
        names.update(
            {f"Functions{CDK_NAMES[name]}.Arn": arn for name, arn in self._function_arns_by_name().items()}
        )
        names.update({f"Functions{CDK_NAMES[name]}.Ref": name for name in self._function_arns_by_name()})
        self._names = names
        self.use_roles(self._roles or local_iam.load_roles())
        self.verify_notification_senders()
        # Lambda's event source mapping of the scheduled-start function (batch size 10, as the CDK app sets it).
        self.scheduled_starts = SqsEventSource(
            starts_url,
            starts_arn,
            self.as_function("ScheduledStart", _load_handler("functions.export.schedule:start_handler")),
            "ScheduledStart",
            REGION,
        ).start()
        # EventBridge's rule: a run that ended outside the state machine's Catch, to the ExportSteps function.
        self.execution_ends = ExecutionEndEvents(
            self.state_machine_arn,
            self.as_function("ExportSteps", _load_handler("functions.export.steps:handler")),
            "ExportSteps",
            REGION,
            ACCOUNT,
        ).start()
        _end_listeners.append(self.execution_ends.wake)
        self.pusher_schedule = PusherSchedule(self.function_arns["PusherFunctionArn"]).start()
        return self

    def _function_arns_by_name(self) -> dict[str, str]:
        return {arn.rsplit(":", 1)[-1]: arn for arn in self.function_arns.values()}

    def use_state_machine(self, arn: str) -> None:
        """Let the functions start (and their roles allow) this state machine instead of the local one."""
        self._names.update(
            {
                "WorkflowExportStateMachine.Ref": arn,
                "WorkflowExportStateMachine.Arn": arn,
                "WorkflowExportStateMachine.Name": arn.rsplit(":", 1)[-1],
            }
        )
        self.use_roles(self._roles_in_force)
        if self.execution_ends is not None:
            self.execution_ends.state_machine_arn = arn
        _product_machines.add(arn)

    def use_roles(self, roles: dict[str, Any]) -> None:
        """Enforce these roles (local/roles.json's shape) from now on, with their functions' environments."""
        self._roles_in_force = roles
        functions = roles["functions"]
        self._resource_environment = {
            name: {
                variable: str(local_iam.resolve(value, self._names))
                for variable, value in function["environment"].items()
                if variable not in LOCAL_VARIABLES
                and (variable in RESOURCE_VARIABLES or "${" in str(value) or "arn:" in str(value))
            }
            for name, function in functions.items()
        }
        self.enforcer = local_iam.Enforcer(
            {
                name: local_iam.resolve(role["statements"], self._names)
                for name, role in {**functions, **roles.get("state_machines", {})}.items()
            },
            ACCOUNT,
            REGION,
        )
        local_iam.enforce(self.enforcer)

    def verify_notification_senders(self) -> None:
        """The sender identity the functions are given, verified in moto's SES (the operator does it in AWS)."""
        ses = boto3.client("ses", region_name=REGION)
        for environment in self._resource_environment.values():
            if environment.get("NOTIFICATION_SENDER"):
                ses.verify_email_identity(EmailAddress=environment["NOTIFICATION_SENDER"])

    def create_platform_secrets(self) -> None:
        """The platform's PowerOffice Go keys, as the operator stores them (DEPLOY.md)."""
        secrets = boto3.client("secretsmanager", region_name=REGION)
        values = {
            POWEROFFICE_KEYS_SECRET: {
                "application_key": os.environ["POWEROFFICE_APPLICATION_KEY"],
                "subscription_key": os.environ["POWEROFFICE_SUBSCRIPTION_KEY"],
            },
        }
        for name, value in values.items():
            secrets.create_secret(Name=name, SecretString=json.dumps(value))

    def function_environment(self, name: str) -> dict[str, str]:
        """What function `name` reads: the synthesized values of everything that names a resource or a secret,
        the local stack's values (emulator URLs, test knobs) for the rest, and no plain secret."""
        resource = self._resource_environment.get(name, {})
        withheld = set(SECRET_VARIABLES) | {v for env in self._resource_environment.values() for v in env}
        own = {
            key: value
            for key, value in os.environ.items()
            if key in _SETTINGS_VARIABLES and key not in withheld
        }
        return {**own, **resource}

    def as_function(self, name: str, handler: Any) -> Any:
        """`handler` run as the CDK function `name`: its role enforced, its environment."""

        def run(event: Any, context: Any) -> Any:
            with local_iam.as_function(name, self.function_environment(name)):
                return handler(event, context)

        return run

    def stop(self) -> None:
        if self.pusher_schedule is not None:
            self.pusher_schedule.stop()
        if self.scheduled_starts is not None:
            self.scheduled_starts.stop()
        if self.execution_ends is not None:
            if self.execution_ends.wake in _end_listeners:
                _end_listeners.remove(self.execution_ends.wake)
            self.execution_ends.stop()
        local_iam.enforce(None)
        DynamoHandler.call_action = _original_dynamodb_call  # type: ignore[method-assign]
        Environment.set_error = _original_set_error  # type: ignore[method-assign]
        Execution.stop = _original_stop  # type: ignore[method-assign]
        BaseExecutionWorkerCommunication._reflect_execution_status = _original_reflect  # type: ignore[method-assign]
        BaseExecutionWorkerCommunication.terminated = _original_terminated  # type: ignore[method-assign]
        lambda_eval_utils.execute_lambda_function_integration = _original_lambda_task
        AmazonStateLanguageParser.parse = staticmethod(_original_parse)  # type: ignore[method-assign]
        lambda_runtime.uninstall()
        callbacks.uninstall()
        self._mock.stop()


class PusherSchedule:
    """EventBridge's one-minute schedule of the pusher, on one machine: an asynchronous invoke every
    `every_s` seconds (the pusher ends at once when another drains the queue)."""

    def __init__(self, function_arn: str, every_s: float = PUSHER_SCHEDULE_S):
        self.function_arn, self.every_s = function_arn, every_s
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eventbridge-pusher-schedule", daemon=True)

    def start(self) -> PusherSchedule:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def tick(self) -> None:
        boto3.client("lambda", region_name=REGION).invoke(
            FunctionName=self.function_arn, InvocationType="Event", Payload=b'{"source": "aws.scheduler"}'
        )

    @contextlib.contextmanager
    def every(self, seconds: float) -> Iterator[None]:
        """Tick every `seconds` meanwhile (a test that waits for a dead pusher's replacement)."""
        previous, self.every_s = self.every_s, seconds
        self._changed.set()
        try:
            yield
        finally:
            self.every_s = previous
            self._changed.set()

    def _run(self) -> None:
        due = time.monotonic() + self.every_s
        while not self._stop.is_set():
            if self._changed.is_set():
                self._changed.clear()
                due = min(due, time.monotonic() + self.every_s)
            self._stop.wait(min(0.5, max(0.0, due - time.monotonic())))
            if self._stop.is_set() or time.monotonic() < due:
                continue
            due = time.monotonic() + self.every_s
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the stack is stopping, or moto hiccuped: the next tick
                continue


# Variables that name a resource even when their value is a plain string.
RESOURCE_VARIABLES = {"TABLE_NAME", "CLIENT_KEY_SECRET_PREFIX", "STATE_MACHINE_ARN", "NOTIFICATION_SENDER"}
# The deployment's web origin and address: the local gateway serves the web app from its own origin.
LOCAL_VARIABLES = {"CORS_ALLOWED_ORIGINS", "WEB_APP_URL"}


def _settings_variables() -> frozenset[str]:
    from abax_payroll.settings import Settings

    return frozenset(str(f.alias) for f in Settings.model_fields.values() if f.alias)


_SETTINGS_VARIABLES = _settings_variables()


def create_table(client: Any, name: str) -> None:
    """The same key schema the CDK data construct deploys."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
