"""local/roles.json, which the local stack enforces (local/iam.py), is what the CDK app synthesizes."""

from __future__ import annotations

from local.iam import load_roles, roles_from_template

# Context values of the deploy, not of a role: the test synth and `make local-roles` differ in them.
CONTEXT_VARIABLES = {"CORS_ALLOWED_ORIGINS"}


def _without_context(roles):
    for function in roles["functions"].values():
        for name in CONTEXT_VARIABLES:
            function["environment"].pop(name, None)
    return roles


def test_local_roles_agree_with_the_synthesized_template(synthesized):
    """After changing a grant or a function's environment in infra/cdk/: `make local-roles`."""
    assert _without_context(roles_from_template(synthesized.template)) == _without_context(load_roles())


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
    }
    for name, role in roles.items():
        assert role["statements"], name
        assert "TABLE_NAME" in role["environment"], name
