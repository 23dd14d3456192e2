"""Least privilege: every statement names real ARNs; `*` only for actions that have no resource-level
permissions; client-key secrets only under their prefix; table access only to this table."""

from __future__ import annotations

import json

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


def test_wildcards_inside_arns_are_only_the_client_key_prefix_and_function_versions(synthesized):
    for logical_id, _statement, actions, resources in _statements(synthesized):
        for resource in resources:
            text = json.dumps(resource)
            if resource == "*" or "*" not in text:
                continue
            allowed = (
                ":secret:abax-payroll/client-keys/*" in text
                # EventBridge Scheduler's grant: the schedule function and its versions
                or (actions == ["lambda:InvokeFunction"] and logical_id.startswith("ScheduleInvokeRole"))
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
        logical_id
        for logical_id, _statement, _actions, resources in _statements(synthesized)
        if any("/index/gsi1" in json.dumps(resource) for resource in resources)
    }
    assert len(readers) == 1 and next(iter(readers)).startswith("FunctionsScheduleRole")


def test_secret_access_per_function(synthesized):
    """activate manages client keys; API, steps and rollback read them; the schedule touches no secret."""
    access: dict[str, set[str]] = {}
    for logical_id, statement, actions, resources in _statements(synthesized):
        role = logical_id.split("Role")[0].removeprefix("Functions")
        for action in actions:
            if action.startswith("secretsmanager:"):
                for resource in resources:
                    text = json.dumps(resource)
                    kind = (
                        "client-keys"
                        if "client-keys" in text
                        else "poweroffice"
                        if "poweroffice-keys" in text
                        else "abax"
                    )
                    access.setdefault(role, set()).add(f"{kind}:{action.split(':')[1]}")
                    if action == "secretsmanager:CreateSecret":
                        kms = statement["Condition"]["StringEquals"]["secretsmanager:KmsKeyId"]
                        assert kms["Fn::GetAtt"][0].startswith("SecretsClientKeysKey")
    assert "Schedule" not in access
    assert {"client-keys:CreateSecret", "client-keys:DeleteSecret", "client-keys:PutSecretValue"} <= access[
        "Activate"
    ]
    assert "abax:GetSecretValue" not in access["Activate"]
    for role in ("ExportApi", "ExportSteps", "Rollback"):
        assert "client-keys:GetSecretValue" in access[role]
        assert (
            not {"client-keys:CreateSecret", "client-keys:DeleteSecret", "client-keys:PutSecretValue"}
            & access[role]
        )
        assert "poweroffice:GetSecretValue" in access[role]
    assert "abax:GetSecretValue" in access["ExportSteps"]
    assert "abax:GetSecretValue" not in access["Rollback"]


def test_platform_secrets_are_referenced_by_name_never_defined(synthesized):
    assert not synthesized.resources("AWS::SecretsManager::Secret")
    text = json.dumps(synthesized.template)
    assert ":secret:abax-payroll/poweroffice-keys" in text
    assert ":secret:abax-payroll/abax-credentials" in text
