"""local/roles.json, which the local stack enforces (local/iam.py), is what the CDK app synthesizes."""

from __future__ import annotations

import json

from infra.cdk.constructs.secrets import DEFAULT_STACK_NAME, stage_secret_names
from local.iam import Enforcer, Request, load_roles, roles_from_template
from tests.infra.conftest import STACK_NAME

# Context values of the deploy, not of a role: the test synth and `make local-roles` differ in them.
CONTEXT_VARIABLES = {"CORS_ALLOWED_ORIGINS"}


def _as_default_stage(roles):
    """The test synth is a stage of its own (its secrets' names carry its stack name); `make local-roles`
    synthesizes the default stack, whose names the local stack uses."""
    text = json.dumps(roles)
    for key, name in stage_secret_names(STACK_NAME).items():
        text = text.replace(name, stage_secret_names(DEFAULT_STACK_NAME)[key])
    return json.loads(text)


def _without_context(roles):
    for function in roles["functions"].values():
        for name in CONTEXT_VARIABLES:
            function["environment"].pop(name, None)
    return roles


def test_local_roles_agree_with_the_synthesized_template(synthesized):
    """After changing a grant or a function's environment in infra/cdk/: `make local-roles`."""
    synthesized_roles = _as_default_stage(roles_from_template(synthesized.template))
    assert _without_context(synthesized_roles) == _without_context(load_roles())


def test_every_function_of_the_app_has_its_role_locally(synthesized):
    roles = load_roles()["functions"]
    assert set(roles) == {
        "Activate",
        "ExportApi",
        "ExportSteps",
        "Rollback",
        "Pusher",
        "Schedule",
        "ScheduledStart",
        "Reconcile",
    }
    for name, role in roles.items():
        assert role["statements"], name
        assert "TABLE_NAME" in role["environment"], name


def test_an_allow_whose_condition_does_not_hold_is_not_applied_and_refuses_nothing():
    """IAM skips an Allow whose condition fails; moto's evaluator answers DENIED for it. The table key's grant
    through DynamoDB must not refuse a call that Secrets Manager makes with another key."""
    via = "kms:ViaService"
    table_key = {"Effect": "Allow", "Action": ["kms:GenerateDataKey"], "Resource": "arn:aws:kms:r:1:key/table",
                 "Condition": {"StringEquals": {via: "dynamodb.r.amazonaws.com"}}}  # fmt: skip
    client_keys = {**table_key, "Resource": "arn:aws:kms:r:1:key/secrets",
                   "Condition": {"StringEquals": {via: "secretsmanager.r.amazonaws.com"}}}  # fmt: skip
    enforcer = Enforcer({"Activate": [table_key, client_keys]}, "1", "r")
    through_secrets = {via: "secretsmanager.r.amazonaws.com"}
    assert enforcer.allows(
        "Activate", Request("kms:GenerateDataKey", client_keys["Resource"], through_secrets)
    )
    assert not enforcer.allows(
        "Activate", Request("kms:GenerateDataKey", table_key["Resource"], through_secrets)
    )
