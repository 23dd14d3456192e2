"""The local stack enforces the roles the CDK app synthesizes (local/iam.py): a grant taken out of the CDK code
breaks the story here as it would in AWS, with AccessDeniedException."""

from __future__ import annotations

import copy
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from infra.cdk.constructs.secrets import Secrets
from infra.cdk.local_roles import synthesize_template
from local import iam
from local.aws import POWEROFFICE_KEYS_SECRET, REGION
from local.stack import LocalStack
from tests.support import OCTOBER, activate, api_client, good_logbooks, start_export, wait_for_export


def test_a_grant_removed_from_the_cdk_code_fails_the_export_with_access_denied(
    fresh: LocalStack, acme: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grant = Secrets.grant_read_client_keys

    # The pusher reads the company's key first: for Validate's lookups (workflow/lookups.py), then to push.
    def grant_except_to_the_pusher(self: Secrets, function) -> None:  # type: ignore[no-untyped-def]
        if function.node.id != "Pusher":
            grant(self, function)

    monkeypatch.setattr(Secrets, "grant_read_client_keys", grant_except_to_the_pusher)
    roles = iam.roles_from_template(synthesize_template(tmp_path))
    logbooks = good_logbooks(acme)  # an export that completes with the roles as they are
    fresh.aws.use_roles(roles)
    try:
        export = wait_for_export(acme, start_export(acme, OCTOBER, logbooks))
    finally:
        fresh.aws.use_roles(iam.load_roles())
    assert export["status"] == "FAILED"
    assert "AccessDenied" in str(export["error"])
    assert not export["lines_pushed"]
    # The story with the synthesized roles as they are (every e2e test) completes: tests/e2e/test_exports.py.


def connect_abax_for_acme(stack: LocalStack) -> None:
    with api_client(stack, "acme", "admin") as admin:
        activate(admin)


def test_each_function_reads_only_the_secrets_its_role_grants(fresh: LocalStack) -> None:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    connect_abax_for_acme(fresh)  # the company's own ABAX API client, stored by the Activate function
    abax_secret = "abax-payroll/abax-clients/acme"
    with iam.as_function("Rollback"):
        assert secrets.get_secret_value(SecretId=POWEROFFICE_KEYS_SECRET)["SecretString"]
        with pytest.raises(ClientError) as refused:
            secrets.get_secret_value(SecretId=abax_secret)  # rollback never reads ABAX
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    with iam.as_function("Schedule"), pytest.raises(ClientError):
        secrets.get_secret_value(
            SecretId="abax-payroll/client-keys/acme"
        )  # the schedule never reads Go's keys
    with iam.as_function("ExportSteps"):
        assert secrets.get_secret_value(SecretId=abax_secret)["SecretString"]
    with iam.as_function("ExportSteps"), pytest.raises(ClientError):
        boto3.client("dynamodb", region_name=REGION).scan(TableName="abax-payroll")  # no Scan in any role


def test_a_task_the_state_machine_role_does_not_name_is_refused_and_the_export_still_ends(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    """The state machine's Lambda tasks run as its role: without `InvokeExportTasks` not one task runs (as in
    AWS), and the run that failed outside its Catch still ends the export (workflow/ended.py)."""
    roles = copy.deepcopy(iam.load_roles())
    machine = roles["state_machines"]["ExportStateMachine"]
    machine["statements"] = [s for s in machine["statements"] if s.get("Sid") != "InvokeExportTasks"]
    logbooks = good_logbooks(acme)
    assert fresh.aws.enforcer is not None
    refused_before = len(fresh.aws.enforcer.refused)
    fresh.aws.use_roles(roles)
    try:
        export = wait_for_export(acme, start_export(acme, OCTOBER, logbooks))
        refused = fresh.aws.enforcer.refused[refused_before:]
    finally:
        fresh.aws.use_roles(iam.load_roles())
    assert export["status"] == "FAILED", export
    assert not export["lines_pushed"]
    assert refused and {(who, request.action) for who, request in refused} == {
        ("ExportStateMachine", "lambda:InvokeFunction")
    }
    # With its role as synthesized, the same logbooks export.
    again = wait_for_export(acme, start_export(acme, OCTOBER, logbooks))
    assert again["status"] == "COMPLETED", again
