"""Least privilege: every statement names real ARNs; `*` only for actions that have no resource-level
permissions; client-key secrets only under their prefix; table access only to this table."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

from infra.cdk.constructs.secrets import stage_secret_names
from tests.infra.conftest import STACK_NAME

# The test stack is a stage of its own (not the default AbaxPayroll): its secrets carry its name.
NAMES = stage_secret_names(STACK_NAME)

# Actions AWS documents without resource-level permissions (X-Ray, Step Functions log delivery).
RESOURCELESS_ACTIONS = {
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
}  # fmt: skip


def _statements(synthesized):
    for logical_id, policy in synthesized.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            yield logical_id, statement, actions, resources


def test_no_wildcard_resource_where_a_real_arn_exists(synthesized):
    for logical_id, _statement, actions, resources in _statements(synthesized):
        if "*" in resources:
            assert set(actions) <= RESOURCELESS_ACTIONS, (logical_id, actions)


def test_no_wildcard_actions(synthesized):
    for logical_id, _statement, actions, _resources in _statements(synthesized):
        assert not any(action.endswith("*") for action in actions), (logical_id, actions)


def test_wildcards_inside_arns_are_only_the_tenant_secret_prefixes_and_function_versions(synthesized):
    for logical_id, _statement, actions, resources in _statements(synthesized):
        for resource in resources:
            text = json.dumps(resource)
            if resource == "*" or "*" not in text:
                continue
            allowed = (
                f":secret:{NAMES['client_key_secret_prefix']}*" in text
                or f":secret:{NAMES['abax_client_secret_prefix']}*"
                in text  # each company's own ABAX API client
                # EventBridge Scheduler's grant: the schedule function and its versions
                or (actions == ["lambda:InvokeFunction"] and logical_id.startswith("ScheduleInvokeRole"))
                or (
                    actions == ["lambda:InvokeFunction"] and logical_id.startswith("ReconciliationInvokeRole")
                )
                # the reconciliation sweep: DescribeExecution on the export state machine's executions only
                or (
                    actions == ["states:DescribeExecution"]
                    and logical_id.startswith("FunctionsReconcileRole")
                    and text.endswith(
                        '":execution:", {"Fn::GetAtt": ["WorkflowExportStateMachineC19B3F5E", "Name"]}, ":*"]]}'
                    )
                )
                # the export functions' snapshots of ABAX answers: objects under snapshots/ only
                or (
                    logical_id.split("Role")[0]
                    in ("FunctionsExportApi", "FunctionsExportSteps", "FunctionsScheduledStart")
                    and '"DataSnapshots' in text
                    and text.endswith('"/snapshots/*"]]}')
                )
                # the documentation reports (and the long lists an export record keeps only the start of):
                # ExportSteps, Rollback and the sweep (ending a stopped run) write them, ExportApi reads them,
                # under reports/ only
                or (
                    (logical_id.split("Role")[0], actions)
                    in (
                        ("FunctionsExportSteps", ["s3:PutObject"]),
                        ("FunctionsRollback", ["s3:PutObject"]),
                        ("FunctionsReconcile", ["s3:PutObject"]),
                        ("FunctionsExportApi", ["s3:GetObject"]),
                    )
                    and '"DataSnapshots' in text
                    and text.endswith('"/reports/*"]]}')
                )
                # the pusher reads whether a chunk's run still runs: this state machine's executions only
                or (
                    logical_id.startswith("WorkflowPusherAnswersRuns")
                    and actions == ["states:DescribeExecution"]
                    and '"WorkflowExportStateMachine' in text
                    and text.endswith('"Name"]}, ":*"]]}')
                )
                # BucketDeployment syncs web/ into the site bucket: its objects, and only those
                or (
                    logical_id.startswith("WebDeployRole") and '"WebSite' in text and text.endswith('"/*"]]}')
                )
            )
            assert allowed, (logical_id, actions, text)


def test_table_actions_are_item_level_on_this_table_only(synthesized):
    for logical_id, _statement, actions, resources in _statements(synthesized):
        if any(action.startswith("dynamodb:") for action in actions):
            assert not {"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:UpdateTable"} & set(actions)
            for resource in resources:
                table_arn = resource if "Fn::GetAtt" in resource else resource["Fn::Join"][1][0]
                assert table_arn["Fn::GetAtt"][0].startswith("DataTable"), (logical_id, resource)
                assert resource is table_arn or resource["Fn::Join"][1][1] == "/index/gsi1"


def test_only_the_schedule_function_queries_the_schedule_index(synthesized):
    readers = {
        logical_id.split("Role")[0]
        for logical_id, _statement, _actions, resources in _statements(synthesized)
        if any("/index/gsi1" in json.dumps(resource) for resource in resources)
    }
    # The reconciliation sweep finds the export locks in the same (sparse) index.
    assert readers == {"FunctionsSchedule", "FunctionsReconcile"}


def _function_roles(synthesized) -> dict[str, str]:
    """Function name (Activate, ExportApi, …) -> its role's logical id."""
    roles = {}
    for handler, name in FUNCTION_NAMES.items():
        _, function = synthesized.function_by_handler(handler)
        roles[name] = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return roles


def _secret_kind(resource) -> str:
    text = json.dumps(resource)
    for kind, marker in (
        ("client-keys", "client-keys/"),
        ("poweroffice", "poweroffice-keys"),
        ("abax", "abax-clients/"),
    ):
        if marker in text:
            return kind
    raise AssertionError(f"a secret of no known kind: {text}")


def _secret_access(synthesized) -> dict[str, set[str]]:
    """Per function: {"<kind>:<action>"} its role's policies grant on secrets."""
    by_role = {role: name for name, role in _function_roles(synthesized).items()}
    access: dict[str, set[str]] = {name: set() for name in FUNCTION_NAMES.values()}
    for _logical_id, policy in synthesized.resources("AWS::IAM::Policy").items():
        for role in policy["Properties"]["Roles"]:
            name = by_role.get(role["Ref"])
            if name is None:
                continue
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                resources = (
                    statement["Resource"]
                    if isinstance(statement["Resource"], list)
                    else [statement["Resource"]]
                )
                for action in actions:
                    if action.startswith("secretsmanager:"):
                        access[name] |= {f"{_secret_kind(r)}:{action.split(':')[1]}" for r in resources}
                        if action == "secretsmanager:CreateSecret":
                            kms = statement["Condition"]["StringEquals"]["secretsmanager:KmsKeyId"]
                            assert kms["Fn::GetAtt"][0].startswith("SecretsClientKeysKey")
    return access


FUNCTION_NAMES = {
    "functions.activate.app.handler": "Activate",
    "functions.export.app.handler": "ExportApi",
    "functions.export.steps.handler": "ExportSteps",
    "functions.rollback.app.handler": "Rollback",
    "functions.export.schedule.handler": "Schedule",
    "functions.export.schedule.start_handler": "ScheduledStart",
    "functions.export.reconcile.handler": "Reconcile",
}
MANAGE = {"client-keys:CreateSecret", "client-keys:DeleteSecret", "client-keys:PutSecretValue"}
# Each company's own ABAX API client (issue 13): created, replaced and deleted by activation only.
MANAGE_ABAX = {"abax:CreateSecret", "abax:DeleteSecret", "abax:PutSecretValue"}
# What each function's code path reads (issue 12: activation confirms a key with PowerOffice Go, so it
# needs the platform's PowerOffice keys; it also stores, and may read back, the tenants' ABAX clients
# (issue 13); rollback deletes lines in Go only; the daily schedule only queues one start per tenant; a
# scheduled start checks ABAX for trips exported before).
SECRETS_READ = {
    "Activate": {"client-keys", "poweroffice", "abax"},
    "ExportApi": {"client-keys", "poweroffice", "abax"},
    "ExportSteps": {"client-keys", "poweroffice", "abax"},
    "Rollback": {"client-keys", "poweroffice"},
    "Schedule": set(),
    "ScheduledStart": {"abax"},
    # Ending a run stopped while it pushed, the sweep lists the lines Go holds under the export's references.
    "Reconcile": {"client-keys", "poweroffice"},
}
# The environment variable that names each kind of secret.
SECRET_VARIABLES = {
    "client-keys": "CLIENT_KEY_SECRET_PREFIX",
    "poweroffice": "POWEROFFICE_KEYS_SECRET_ARN",
    "abax": "ABAX_CLIENT_SECRET_PREFIX",
}


def test_each_function_reads_exactly_the_secrets_its_path_needs(synthesized):
    access = _secret_access(synthesized)
    for name, kinds in SECRETS_READ.items():
        readable = {entry.split(":")[0] for entry in access[name] if entry.endswith(":GetSecretValue")}
        assert readable == kinds, name
    assert access["Activate"] >= MANAGE | MANAGE_ABAX
    for name in ("ExportApi", "ExportSteps", "Rollback", "Schedule", "ScheduledStart", "Reconcile"):
        assert not (MANAGE | MANAGE_ABAX) & access[name], name


def test_no_function_is_given_a_secret_its_role_may_not_read(synthesized):
    """The environment names a secret (or the client keys' prefix) exactly when the role may read it."""
    access = _secret_access(synthesized)
    for handler, name in FUNCTION_NAMES.items():
        _, function = synthesized.function_by_handler(handler)
        variables = function["Properties"]["Environment"]["Variables"]
        readable = {entry.split(":")[0] for entry in access[name] if entry.endswith(":GetSecretValue")}
        given = {kind for kind, variable in SECRET_VARIABLES.items() if variable in variables}
        assert given == readable, (name, given, readable)
        for kind in given:
            if kind not in ("client-keys", "abax"):  # prefixes of per-tenant secrets
                assert _secret_kind(variables[SECRET_VARIABLES[kind]]) == kind


def test_platform_secrets_are_referenced_by_name_never_defined(synthesized):
    assert not synthesized.resources("AWS::SecretsManager::Secret")
    text = json.dumps(synthesized.template)
    assert f":secret:{NAMES['poweroffice_keys_secret_name']}" in text
    # No platform ABAX secret: every company connects its own ABAX API client.
    assert "abax-credentials" not in text and 'ABAX_CLIENT_SECRET"' not in text


def test_the_daily_schedule_queries_the_index_and_queues_starts_nothing_else(synthesized):
    """One tenant's start is its own invocation (ScheduledStart); the daily run only finds and queues them."""
    role = _function_roles(synthesized)["Schedule"]
    actions = {
        action
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert {a for a in actions if a.startswith("dynamodb:")} == {"dynamodb:Query"}
    assert "sqs:SendMessage" in actions
    assert not {a for a in actions if a.startswith(("secretsmanager:", "states:"))}


def test_only_the_export_functions_touch_the_snapshots_and_only_under_their_prefix(synthesized):
    users = set()
    for logical_id, statement, actions, resources in _statements(synthesized):
        if not any('"DataSnapshots' in json.dumps(resource) for resource in resources):
            continue
        users.add(logical_id.split("Role")[0])
        if actions == ["s3:ListBucket"]:
            assert statement["Condition"] == {"StringLike": {"s3:prefix": ["snapshots/*"]}}
        elif any(json.dumps(resource).endswith('"/reports/*"]]}') for resource in resources):
            continue  # the documentation reports: see the test below
        else:
            assert set(actions) <= {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, actions
            assert all(json.dumps(resource).endswith('"/snapshots/*"]]}') for resource in resources), (
                resources
            )
    # Rollback and the sweep only write under reports/ (the lines left in Go, when more than the record
    # names); ScheduledStart reads the month's trips when the ledger holds some (issue 21, finding 1).
    assert users == {
        "FunctionsExportApi",
        "FunctionsExportSteps",
        "FunctionsReconcile",
        "FunctionsRollback",
        "FunctionsScheduledStart",
    }


def test_reports_are_written_by_the_steps_and_read_by_the_api_only_under_their_prefix(synthesized):
    """Group writes an export's documentation report, GET /exports/{id}/report reads it; Validate, Group,
    Rollback and the sweep write the long lists an export record keeps only the start of (problems, lines left
    in Go); nothing
    else, no delete (the employer keeps it for years), and no one lists or touches reports/ otherwise."""
    grants: dict[str, set[str]] = {}
    for logical_id, _statement, actions, resources in _statements(synthesized):
        for resource in resources:
            text = json.dumps(resource)
            if '"DataSnapshots' in text and text.endswith('"/reports/*"]]}'):
                grants.setdefault(logical_id.split("Role")[0], set()).update(actions)
            elif "reports" in text:
                raise AssertionError((logical_id, actions, text))
    assert grants == {
        "FunctionsExportSteps": {"s3:PutObject"},
        "FunctionsRollback": {"s3:PutObject"},
        "FunctionsReconcile": {"s3:PutObject"},
        "FunctionsExportApi": {"s3:GetObject"},
    }


def _secret_patterns(synthesized) -> set[str]:
    """Every secretsmanager resource pattern the roles hold, with the ARN's account and region parts cut."""
    found = set()
    for _logical_id, _statement, actions, resources in _statements(synthesized):
        if any(action.startswith("secretsmanager:") for action in actions):
            for resource in resources:
                text = json.dumps(resource)
                found.add(text.split(":secret:", 1)[1].split('"', 1)[0])
    return found


def test_each_stage_reads_and_deletes_only_its_own_tenants_secrets(synthesized):
    """A second stack in the account (a staging copy) could read and delete the first one's tenant secrets when
    both used one prefix. Each stage's names carry its stack name; the default stack keeps the names its
    companies' secrets already have."""
    patterns = _secret_patterns(synthesized)
    assert patterns and all(p.startswith(f"abax-payroll-{STACK_NAME}/") for p in patterns), patterns
    default = stage_secret_names("AbaxPayroll")
    assert default == {
        "client_key_secret_prefix": "abax-payroll/client-keys/",
        "abax_client_secret_prefix": "abax-payroll/abax-clients/",
        "poweroffice_keys_secret_name": "abax-payroll/poweroffice-keys",
    }
    staging = stage_secret_names("AbaxPayrollStaging")
    stages = {"default": default, "staging": staging, "test": NAMES}
    for stage, names in stages.items():
        for other, other_names in stages.items():
            secrets = [
                other_names[k] + "acme" for k in ("client_key_secret_prefix", "abax_client_secret_prefix")
            ]
            secrets.append(other_names["poweroffice_keys_secret_name"] + "-AbCdEf")
            granted = [f"{names[k]}*" for k in ("client_key_secret_prefix", "abax_client_secret_prefix")]
            matched = [secret for secret in secrets for pattern in granted if fnmatchcase(secret, pattern)]
            assert len(matched) == (2 if stage == other else 0), (stage, other, matched)
    for handler, name in FUNCTION_NAMES.items():
        variables = synthesized.function_by_handler(handler)[1]["Properties"]["Environment"]["Variables"]
        for variable, key in (
            ("CLIENT_KEY_SECRET_PREFIX", "client_key_secret_prefix"),
            ("ABAX_CLIENT_SECRET_PREFIX", "abax_client_secret_prefix"),
        ):
            assert variables.get(variable, NAMES[key]) == NAMES[key], name


def _role_statements(synthesized, function: str) -> list[tuple[dict, list[str]]]:
    role = _function_roles(synthesized)[function]
    found = []
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                found.append((statement, actions))
    return found


def test_no_role_holds_actions_its_code_never_calls(synthesized):
    """Activation creates, replaces, reads back and deletes secrets (Secrets Manager encrypts with
    GenerateDataKey); the daily schedule only sends to the queue whose URL it is given."""
    activate = _role_statements(synthesized, "Activate")
    assert not {"secretsmanager:DescribeSecret", "secretsmanager:TagResource"} & {
        action for _, actions in activate for action in actions
    }
    # kms:Encrypt stays only on the table's key, which DynamoDB uses on the role's behalf.
    encrypt_on = [
        json.dumps(statement["Resource"]) for statement, actions in activate if "kms:Encrypt" in actions
    ]
    assert all("DataTableKey" in resource for resource in encrypt_on), encrypt_on
    schedule = {action for _, actions in _role_statements(synthesized, "Schedule") for action in actions}
    assert "sqs:SendMessage" in schedule
    assert not {"sqs:GetQueueAttributes", "sqs:GetQueueUrl"} & schedule


def test_the_table_key_is_usable_only_through_dynamodb_and_s3(synthesized):
    """The table's key (also the snapshot bucket's) is granted for the calls DynamoDB and S3 make on a
    function's behalf, never for the function's own KMS calls."""
    keyed = [
        (name, statement)
        for name in FUNCTION_NAMES.values()
        for statement, actions in _role_statements(synthesized, name)
        if any(action.startswith("kms:") for action in actions)
        and "DataTableKey" in json.dumps(statement["Resource"])
    ]
    assert {name for name, _ in keyed} == set(FUNCTION_NAMES.values())
    for name, statement in keyed:
        via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
        assert via is not None, (name, statement)
        services = via if isinstance(via, list) else [via]
        text = json.dumps(services)
        assert text.count(".amazonaws.com") == len(services) and ("dynamodb." in text or "s3." in text), via


def test_only_the_functions_that_end_scheduled_exports_may_send_e_mail_and_only_as_the_sender(synthesized):
    """ses:SendEmail from the configured sender identity (cdk.json notification_sender), nothing else."""
    senders = set()
    for logical_id, statement, actions, resources in _statements(synthesized):
        if not any(action.startswith("ses:") for action in actions):
            continue
        senders.add(logical_id.split("Role")[0])
        assert actions == ["ses:SendEmail"]
        assert statement["Condition"] == {
            "StringEquals": {"ses:FromAddress": "lonn-noreply@abax-payroll.example"}
        }
        assert sorted(resources) == [
            "arn:aws:ses:eu-north-1:123456789012:identity/abax-payroll.example",
            "arn:aws:ses:eu-north-1:123456789012:identity/lonn-noreply@abax-payroll.example",
        ]
    assert senders == {
        "FunctionsExportSteps",
        "FunctionsRollback",
        "FunctionsScheduledStart",
        "FunctionsReconcile",
    }
