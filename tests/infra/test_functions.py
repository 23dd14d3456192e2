"""The Lambda functions: runtime, architecture, tracing, logs, DLQ, timeouts, and an environment that the
code's own settings model accepts."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from abax_payroll.settings import load_settings
from infra.cdk.constructs.secrets import stage_secret_names
from tests.infra.conftest import STACK_NAME

HANDLERS = {
    "functions.activate.app.handler": "Activate",
    "functions.export.app.handler": "ExportApi",
    "functions.export.steps.handler": "ExportSteps",
    "functions.rollback.app.handler": "Rollback",
    "functions.export.pusher.handler": "Pusher",
    "functions.export.schedule.handler": "Schedule",
    "functions.export.schedule.start_handler": "ScheduledStart",
    "functions.export.reconcile.handler": "Reconcile",
}
WEB_DEPLOY_HANDLER = "CustomCDKBucketDeployment"
STARTS_EXPORTS = {"functions.export.app.handler", "functions.export.schedule.start_handler"}
# Told the state machine: those that start exports, and the sweep that describes their runs.
KNOWS_THE_STATE_MACHINE = STARTS_EXPORTS | {"functions.export.reconcile.handler"}


def test_one_function_per_handler(synthesized):
    handlers = {
        f["Properties"]["Handler"]
        for logical_id, f in synthesized.resources("AWS::Lambda::Function").items()
        if not logical_id.startswith(WEB_DEPLOY_HANDLER)  # CDK's own, deploys web/ (test_web.py)
    }
    assert handlers == set(HANDLERS)


@pytest.mark.parametrize("handler", sorted(HANDLERS))
def test_function_runtime_tracing_logs_and_dlq(synthesized, handler):
    _, function = synthesized.function_by_handler(handler)
    props = function["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": _ref_like(synthesized, "Logs", HANDLERS[handler])}
    assert props["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0].startswith("FunctionsAsyncDeadLetterQueue")
    assert len(props["Layers"]) == 1


def test_api_functions_fit_the_api_gateway_timeout_and_tasks_have_room(synthesized):
    timeouts = {
        handler: synthesized.function_by_handler(handler)[1]["Properties"]["Timeout"] for handler in HANDLERS
    }
    assert timeouts["functions.activate.app.handler"] <= 29
    assert timeouts["functions.export.app.handler"] <= 29
    assert timeouts["functions.export.steps.handler"] >= 120
    assert timeouts["functions.rollback.app.handler"] == 900
    assert timeouts["functions.export.pusher.handler"] == 900


def test_one_pusher_at_a_time_woken_by_the_steps_and_every_minute(synthesized, template):
    """The push queue has one pusher (reserved concurrency 1); ExportSteps may wake it, and so does a schedule."""
    logical_id, pusher = synthesized.function_by_handler("functions.export.pusher.handler")
    assert pusher["Properties"]["ReservedConcurrentExecutions"] == 1
    _, steps = synthesized.function_by_handler("functions.export.steps.handler")
    assert steps["Properties"]["Environment"]["Variables"]["PUSHER_FUNCTION_NAME"] == {"Ref": logical_id}
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(1 minute)",
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [logical_id, "Arn"]}})],
        },
    )


@pytest.mark.parametrize("handler", sorted(HANDLERS))
def test_environment_passes_the_settings_model(synthesized, handler):
    _, function = synthesized.function_by_handler(handler)
    environment = {
        name: value if isinstance(value, str) else f"resolved-{name.lower()}"
        for name, value in function["Properties"]["Environment"]["Variables"].items()
    }
    settings = load_settings(environment)  # raises SettingsError like a cold start would
    assert settings.table_name
    assert environment["POWERTOOLS_SERVICE_NAME"] == "abax-payroll"
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "AbaxPayroll"
    if "CLIENT_KEY_SECRET_PREFIX" in environment:  # only where the role may read them (test_iam.py)
        assert (
            environment["CLIENT_KEY_SECRET_PREFIX"]
            == stage_secret_names(STACK_NAME)["client_key_secret_prefix"]
        )
    assert ("STATE_MACHINE_ARN" in environment) == (handler in KNOWS_THE_STATE_MACHINE)


def test_dead_letter_queue_is_encrypted_and_tls_only(template):
    template.has_resource_properties("AWS::SQS::Queue", {"SqsManagedSseEnabled": True})
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Effect": "Deny",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            "Action": "sqs:*",
                        }
                    )
                ]
            }
        },
    )


def test_function_roles_use_no_aws_managed_policies(synthesized):
    for logical_id, role in synthesized.resources("AWS::IAM::Role").items():
        if logical_id.startswith("Functions"):
            assert "ManagedPolicyArns" not in role["Properties"], logical_id


def _ref_like(synthesized, suffix: str, name: str) -> str:
    (logical_id,) = [
        k for k in synthesized.resources("AWS::Logs::LogGroup") if k.startswith(f"Functions{name}{suffix}")
    ]
    return logical_id


def test_deploy_guide_states_the_defaults_cdk_json_sets():
    """DEPLOY.md's context table says what a plain `cdk deploy` gets: each number and switch cdk.json sets
    (push_chunk_size, throttling, the company share, schedule hour, ...) is the default the table names."""
    import json
    import re

    from infra.cdk.app import CDK_JSON, REPO_ROOT

    context = json.loads(CDK_JSON.read_text())["context"]
    rows = {}
    for line in (REPO_ROOT / "infra" / "cdk" / "DEPLOY.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            names = re.findall(r"`([a-z_]+)`", cells[0])
            defaults = re.findall(r"`([^`]+)`", cells[1])
            rows.update(zip(names, defaults, strict=False))
    checked = 0
    for name, value in context.items():
        if name.startswith("@"):  # CDK's feature flags
            continue
        if isinstance(value, bool) or re.fullmatch(r"\d+", str(value)):
            assert rows.get(name) == json.dumps(value).strip('"'), (name, value, rows.get(name))
            checked += 1
    assert checked >= 6
