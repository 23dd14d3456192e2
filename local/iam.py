"""IAM in the local stack: every AWS call a function makes is checked against the policies its CDK role grants.

moto serves the AWS APIs here without checking who may call them. This module closes that gap with the roles
the CDK app synthesizes (`local/roles.json`, generated from the template by `python -m infra.cdk.local_roles`;
`tests/infra/test_local_roles.py` fails when it no longer agrees with the synth):

- `roles_from_template` reads each function's role policies and environment out of the synthesized template,
  with CloudFormation references kept as `${LogicalName.Arn}` placeholders (logical id without its hash);
- `Enforcer` resolves those against the local resources and evaluates a request with moto's own IAM policy
  evaluator (`moto.iam.access_control.IAMPolicy`), given AWS's wildcard and condition semantics;
- a botocore `before-parameter-build` hook maps every API call made while a function runs (`as_function`) to
  its IAM action and the real resource ARN (the table or index, the secret's full ARN and the KMS key that
  encrypts it, the state machine, the queue) and raises `AccessDeniedException` when the role does not allow
  it, before moto sees the request: the same error AWS answers.

Calls made outside a function (a test reading the table, the local stack's own setup) are not checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from botocore.handlers import BUILTIN_HANDLERS
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult

ROLES_FILE = Path(__file__).resolve().with_name("roles.json")
_HASH = re.compile(r"[0-9A-F]{8}$")
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")

# The function running on this thread (its CDK name: Activate, ExportApi, …) and the enforcer in force.
current_function: ContextVar[str | None] = ContextVar("current_function", default=None)
_enforcer: Enforcer | None = None


# ---- the synthesized template -> roles.json ---------------------------------------------------------------
def _name(logical_id: str) -> str:
    return _HASH.sub("", logical_id)


def _render(value: Any) -> Any:
    """CloudFormation intrinsics -> `${Name.Attribute}` placeholders (pseudo parameters: `${AWS::Region}`)."""
    if isinstance(value, list):
        return [_render(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return "${" + (argument if argument.startswith("AWS::") else f"{_name(argument)}.Ref") + "}"
        if key == "Fn::GetAtt":
            return "${" + f"{_name(argument[0])}.{argument[1]}" + "}"
        if key == "Fn::Join":
            return str(argument[0]).join(str(_render(part)) for part in argument[1])
        if key.startswith("Fn::"):
            raise ValueError(f"local/iam.py cannot render {key} yet: {json.dumps(value)}")
    return {key: _render(item) for key, item in value.items()}


def roles_from_template(template: Mapping[str, Any]) -> dict[str, Any]:
    """{"functions": {"Activate": {"statements": [...], "environment": {...}}, …}} from a synthesized template."""
    resources = template["Resources"]
    functions: dict[str, Any] = {}
    for logical_id, resource in sorted(resources.items()):
        if resource["Type"] != "AWS::Lambda::Function" or not logical_id.startswith("Functions"):
            continue
        role_id = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = [
            statement
            for policy in resources.values()
            if policy["Type"] == "AWS::IAM::Policy"
            and {"Ref": role_id} in policy["Properties"].get("Roles", [])
            for statement in _as_list(policy["Properties"]["PolicyDocument"]["Statement"])
        ]
        functions[_name(logical_id).removeprefix("Functions")] = {
            "statements": _render(statements),
            "environment": _render(resource["Properties"].get("Environment", {}).get("Variables", {})),
        }
    machines = {
        _name(logical_id).removeprefix("Workflow"): resource["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        for logical_id, resource in sorted(resources.items())
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
    }
    # The state machine's role: what its tasks may invoke (the local stack runs its Lambda tasks as it).
    state_machines = {
        name: {
            "statements": _render(
                [
                    statement
                    for policy in resources.values()
                    if policy["Type"] == "AWS::IAM::Policy"
                    and {"Ref": role_id} in policy["Properties"].get("Roles", [])
                    for statement in _as_list(policy["Properties"]["PolicyDocument"]["Statement"])
                ]
            )
        }
        for name, role_id in machines.items()
    }
    return {"functions": functions, "state_machines": state_machines}


def load_roles(path: Path = ROLES_FILE) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resolve(value: Any, names: Mapping[str, str]) -> Any:
    """Placeholders -> local values; one with no local counterpart stays as it is (and matches nothing)."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda match: names.get(match.group(1), match.group(0)), value)
    if isinstance(value, list):
        return [resolve(item, names) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, names) for key, item in value.items()}
    return value


# ---- evaluation: moto's evaluator, with IAM's wildcards and conditions -------------------------------------
def _glob(pattern: str, text: str, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.IGNORECASE if ignore_case else 0) is not None


class _Statement(IAMPolicyStatement):
    """moto's statement evaluation, with two of IAM's rules it leaves out.

    moto turns `*` into a regex but not `?` (a secret ARN's `-??????` suffix is a regex error there) and matches
    actions case-sensitively; a condition whose key the request lacks passes in moto, and fails in IAM.
    """

    def _check_element_matches(self, statement_element: Any, value: str) -> bool:
        ignore_case = statement_element in ("Action", "NotAction")
        return any(
            _glob(pattern, value, ignore_case) for pattern in _as_list(self._statement[statement_element])
        )

    def _check_conditions(self, incoming_condition_values: dict[str, str] | None) -> bool:
        values = incoming_condition_values or {}
        for operator, conditions in self._statement.get("Condition", {}).items():
            for key in conditions:
                if key not in values and not operator.endswith("IfExists"):
                    return False
        return super()._check_conditions(incoming_condition_values)


class _Policy(IAMPolicy):
    def is_action_permitted(
        self,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> PermissionResult:
        permitted = False
        for statement in _as_list(self._policy_json["Statement"]):
            result = _Statement(statement).is_action_permitted(
                action, resource, principal, incoming_condition_values
            )
            if result == PermissionResult.DENIED and statement.get("Effect") == "Allow":
                # moto answers DENIED for an Allow whose condition does not hold (checked before its Resource);
                # IAM simply does not apply that statement: the table key's Allow through DynamoDB must not
                # refuse a call through Secrets Manager on another key.
                continue
            if result == PermissionResult.DENIED:
                return result
            permitted = permitted or result == PermissionResult.PERMITTED
        return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    conditions: dict[str, str] = field(default_factory=dict)


class AccessDenied(ClientError):
    pass


class Enforcer:
    """The functions' resolved role policies; `check` raises AccessDeniedException as AWS would."""

    def __init__(self, statements: Mapping[str, list[dict[str, Any]]], account: str, region: str):
        self.account, self.region = account, region
        self._policies = {
            name: _Policy(json.dumps({"Version": "2012-10-17", "Statement": policy}))
            for name, policy in statements.items()
        }
        self.refused: list[tuple[str, Request]] = []
        # Every (role, action) a call was allowed: what the roles grant that no path uses (tests/e2e).
        self.used: set[tuple[str, str]] = set()

    def allows(self, function: str, request: Request) -> bool:
        policy = self._policies.get(function)
        if policy is None:
            return False
        result = policy.is_action_permitted(request.action, request.resource, None, request.conditions)
        return result == PermissionResult.PERMITTED

    def check(self, function: str, operation: str, requests: list[Request]) -> None:
        for request in requests:
            if self.allows(function, request):
                self.used.add((function, request.action))
            else:
                self.refused.append((function, request))
                message = (
                    f"User: arn:aws:sts::{self.account}:assumed-role/{function}Role/{function} is not authorized to "
                    f"perform: {request.action} on resource: {request.resource} because no identity-based policy "
                    f"allows the {request.action} action"
                )
                raise AccessDenied(
                    {"Error": {"Code": "AccessDeniedException", "Message": message}}, operation
                )


# ---- API call -> IAM action and resource --------------------------------------------------------------------
_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}
_ACTION = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "s3:HeadObject": "s3:GetObject",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:DeleteObjects": "s3:DeleteObject",
    # SQS authorizes a batch by its single action.
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _secret(account: str, region: str, secret_id: str) -> tuple[str, str | None]:
    """The secret's full ARN (with Secrets Manager's suffix) and its KMS key, from moto's backend."""
    from moto.secretsmanager.models import secretsmanager_backends

    secret = secretsmanager_backends[account][region].secrets.get(secret_id)
    if secret is not None:
        return secret.arn, getattr(secret, "kms_key_id", None)
    name = secret_id.split(":secret:", 1)[-1]
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-000000", None


def _machine_of_token(account: str, region: str, token: str) -> str | None:
    """The state machine whose running execution waits on `token` (moto's backend); None when none does."""
    # The backend the requests reach: with execute_state_machine, the parser's (moto's other one is empty).
    from moto.stepfunctions.responses import get_backend

    for machine in get_backend(account, region).state_machines:
        for execution in machine.executions:
            worker = getattr(execution, "exec_worker", None)
            env = getattr(worker, "env", None)
            if env is not None and env.callback_pool_manager.get(token) is not None:
                return str(machine.arn)
    return None


def requests_of(
    service: str, operation: str, params: Mapping[str, Any], account: str, region: str
) -> list[Request]:
    arn = f"arn:aws:{{}}:{region}:{account}:{{}}"
    action = f"{_PREFIX.get(service, service)}:{operation}"
    action = _ACTION.get(action, action)
    if service == "dynamodb":

        def table(name: str, index: str | None = None) -> str:
            base = name if name.startswith("arn:") else arn.format("dynamodb", f"table/{name}")
            return f"{base}/index/{index}" if index else base

        if operation in ("TransactWriteItems", "TransactGetItems"):
            found = []
            for item in params.get("TransactItems", []):
                ((kind, body),) = item.items()
                found.append(Request(f"dynamodb:{_TRANSACT[kind]}", table(body["TableName"])))
            return found
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [Request(action, table(name)) for name in params.get("RequestItems", {})]
        if "TableName" in params:
            return [Request(action, table(params["TableName"], params.get("IndexName")))]
    if service == "secretsmanager":
        secret_id = params.get("SecretId") or params.get("Name")
        if secret_id:
            resource, key = _secret(account, region, secret_id)
            conditions = {"secretsmanager:KmsKeyId": params["KmsKeyId"]} if "KmsKeyId" in params else {}
            found = [Request(action, resource, conditions)]
            key = params.get("KmsKeyId") or key
            if key and operation in ("GetSecretValue", "CreateSecret", "PutSecretValue"):
                # Secrets Manager uses the secret's key on the caller's behalf, with the caller's permissions.
                kms_action = "kms:Decrypt" if operation == "GetSecretValue" else "kms:GenerateDataKey"
                via = {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
                found.append(Request(kms_action, key, via))
            return found
    if service == "states":
        resource = params.get("stateMachineArn") or params.get("executionArn")
        if "taskToken" in params:  # SendTask*: authorized on the state machine whose task holds the token
            resource = _machine_of_token(account, region, str(params["taskToken"]))
            if resource is None:
                return []  # no open task holds it: Step Functions answers TaskTimedOut / InvalidToken itself
        if resource:
            return [Request(action, resource)]
    if service == "sqs" and "QueueUrl" in params:
        name = str(params["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1]
        return [Request(action, arn.format("sqs", name))]
    if service == "lambda" and "FunctionName" in params:
        name = params["FunctionName"]
        return [
            Request(action, name if name.startswith("arn:") else arn.format("lambda", f"function:{name}"))
        ]
    if service == "ses" and "Source" in params:  # SES authorizes a send on the sender's identity
        source = str(params["Source"]).rsplit("<", 1)[-1].rstrip(">")
        return [
            Request(
                action,
                f"arn:aws:ses:{region}:{account}:identity/{source}",
                {"ses:FromAddress": source},
            )
        ]
    if service == "s3" and "Bucket" in params:
        key = params.get("Key")
        if operation == "DeleteObjects":  # one s3:DeleteObject per key
            return [
                Request("s3:DeleteObject", f"arn:aws:s3:::{params['Bucket']}/{entry['Key']}")
                for entry in params.get("Delete", {}).get("Objects", [])
            ]
        conditions = {"s3:prefix": str(params["Prefix"])} if "Prefix" in params else {}
        return [Request(action, f"arn:aws:s3:::{params['Bucket']}" + (f"/{key}" if key else ""), conditions)]
    return [Request(action, "*")]


def _before_parameter_build(params: Mapping[str, Any], model: Any, **_: Any) -> None:
    enforcer, function = _enforcer, current_function.get()
    if enforcer is None or function is None:
        return
    service = model.service_model.signing_name
    enforcer.check(
        function, model.name, requests_of(service, model.name, params, enforcer.account, enforcer.region)
    )


# Every botocore session created from now on (boto3's default session, moto's) runs the check.
BUILTIN_HANDLERS.append(("before-parameter-build", _before_parameter_build))


def enforce(enforcer: Enforcer | None) -> None:
    """Check every call made inside `as_function` against `enforcer` (None: stop checking)."""
    global _enforcer
    _enforcer = enforcer


@contextmanager
def as_function(name: str, environment: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run the enclosed code as the function `name`: its role's permissions and (when given) its environment."""
    from abax_payroll.settings import function_environment

    token = current_function.set(name)
    env_token = function_environment.set(environment) if environment is not None else None
    try:
        yield
    finally:
        if env_token is not None:
            function_environment.reset(env_token)
        current_function.reset(token)
