"""CDK entry point: `cdk synth` (cdk.json runs `python -m infra.cdk.app`) or `make synth` (plain Python).

Context values (cdk.json holds the defaults; override with `-c name=value`), see DEPLOY.md:
  assets_dir                     prepared Lambda assets (code/ and deps/); without it build_assets runs
  poweroffice_keys_secret_name   platform secret {"application_key", "subscription_key"}
  abax_client_secret_prefix      tenants' ABAX API-client secrets: prefix + tenant id
  client_key_secret_prefix       tenants' client-key secrets: prefix + tenant id
                                 (these three default to the stage's names: secrets.stage_secret_names)
  cors_allowed_origins           other web frontend origin(s) than the hosted web app: a list, or comma-separated
  api_gateway_cloudwatch_role    true: this stack sets the account's (region's) API Gateway CloudWatch role
  user_pool_id                   import this Cognito user pool instead of creating one
  web_app_urls                   hosted-UI callback and sign-out URLs (default: each CORS origin + "/")
  cognito_domain_prefix          hosted-UI domain prefix (default: <stack name>-<account id>)
  alarm_email                    required: the alarm topic's subscriber (deploy with -c alarm_email=...)
  tenant_requests_per_second     each company's share of the API (the stage's throttling_* limits are the total)
  waf_web_acl_arn, log_level, log_retention (a RetentionDays name), throttling_rate_limit, throttling_burst_limit, schedule_hour,
  poweroffice_api_url, poweroffice_token_url, abax_api_url, abax_token_url, abax_scope (the sandbox:
  https://api-test.abax.cloud with "open_api.sandbox open_api.sandbox.trips"),
  poweroffice_requests_per_second, abax_requests_per_minute, push_chunk_size,
  export_steps_reserved_concurrency, stack_name
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):
    # Run as a script: put the repo root first, and keep infra/cdk/ off the path so that
    # infra/cdk/constructs/ cannot shadow the `constructs` library.
    sys.path[:] = [str(REPO_ROOT)] + [
        p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent
    ]

import aws_cdk as cdk  # noqa: E402
from aws_cdk import aws_logs as logs  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.cdk import build_assets  # noqa: E402
from infra.cdk.constructs.api import ApiConfig  # noqa: E402
from infra.cdk.constructs.functions import FunctionsConfig  # noqa: E402
from infra.cdk.constructs.secrets import DEFAULT_STACK_NAME, stage_secret_names  # noqa: E402
from infra.cdk.stack import AbaxPayrollStack, StackSettings  # noqa: E402

CDK_JSON = REPO_ROOT / "cdk.json"


def _get(app: cdk.App, name: str, default: object = None) -> object:
    value = app.node.try_get_context(name)
    return default if value in (None, "") else value


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return [str(item) for item in value or []]


def _flag(app: cdk.App, name: str) -> bool:
    return str(_get(app, name, False)).strip().lower() in ("true", "1", "yes")


def settings_from_context(app: cdk.App) -> StackSettings:
    names = stage_secret_names(stack_name(app))
    assets_dir = _get(app, "assets_dir")
    assets = build_assets.assets_in(Path(str(assets_dir)).resolve()) if assets_dir else build_assets.build()
    retention = logs.RetentionDays[str(_get(app, "log_retention", "THREE_MONTHS")).upper()]
    user_pool_id = _get(app, "user_pool_id")
    waf = _get(app, "waf_web_acl_arn")
    alarm_email = _get(app, "alarm_email")
    return StackSettings(
        functions=FunctionsConfig(
            code_dir=assets.code,
            deps_dir=assets.deps,
            poweroffice_api_url=str(_get(app, "poweroffice_api_url", "https://goapi.poweroffice.net/v2")),
            poweroffice_token_url=str(
                _get(app, "poweroffice_token_url", "https://goapi.poweroffice.net/OAuth/Token")
            ),
            abax_api_url=str(_get(app, "abax_api_url", "https://api.abax.cloud")),
            abax_token_url=str(_get(app, "abax_token_url", "https://identity.abax.cloud/connect/token")),
            abax_scope=str(_get(app, "abax_scope", "open_api open_api.trips")),
            poweroffice_requests_per_second=str(_get(app, "poweroffice_requests_per_second", "10")),
            push_chunk_size=str(_get(app, "push_chunk_size", "50")),
            export_steps_reserved_concurrency=int(str(_get(app, "export_steps_reserved_concurrency", 8))),
            abax_requests_per_window=str(_get(app, "abax_requests_per_minute", "60")),
            log_level=str(_get(app, "log_level", "INFO")).upper(),
            log_retention=retention,
            notification_sender=str(_get(app, "notification_sender", "")),
        ),
        api=ApiConfig(
            cors_allowed_origins=_as_list(_get(app, "cors_allowed_origins", [])),
            throttling_rate_limit=float(str(_get(app, "throttling_rate_limit", 200))),
            throttling_burst_limit=int(str(_get(app, "throttling_burst_limit", 400))),
            tenant_requests_per_second=float(str(_get(app, "tenant_requests_per_second", 10))),
            user_pool_id=str(user_pool_id) if user_pool_id else None,
            web_app_urls=_as_list(_get(app, "web_app_urls", [])) or None,
            cognito_domain_prefix=str(_get(app, "cognito_domain_prefix", "")) or None,
            waf_web_acl_arn=str(waf) if waf else None,
            log_retention=retention,
            cloudwatch_role=_flag(app, "api_gateway_cloudwatch_role"),
        ),
        client_key_secret_prefix=str(
            _get(app, "client_key_secret_prefix", names["client_key_secret_prefix"])
        ),
        poweroffice_keys_secret_name=str(
            _get(app, "poweroffice_keys_secret_name", names["poweroffice_keys_secret_name"])
        ),
        abax_client_secret_prefix=str(
            _get(app, "abax_client_secret_prefix", names["abax_client_secret_prefix"])
        ),
        schedule_hour=int(str(_get(app, "schedule_hour", 6))),
        alarm_email=str(alarm_email) if alarm_email else None,
    )


def stack_name(app: cdk.App) -> str:
    return str(_get(app, "stack_name", DEFAULT_STACK_NAME))


def create_app(context: dict | None = None, outdir: str | None = None) -> tuple[cdk.App, AbaxPayrollStack]:
    """The app with cdk-nag applied. Outside the CDK CLI, cdk.json's context is read here (the CLI does it
    itself, through CDK_CONTEXT_JSON); `context` overrides it."""
    merged: dict = {}
    if "CDK_CONTEXT_JSON" not in os.environ and CDK_JSON.exists():
        merged.update(json.loads(CDK_JSON.read_text()).get("context", {}))
    merged.update(context or {})
    app = cdk.App(context=merged, outdir=outdir)
    stack = AbaxPayrollStack(
        app,
        stack_name(app),
        settings=settings_from_context(app),
        description="abax-payroll: ABAX trip logbooks to PowerOffice Go salary lines",
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
        ),
    )
    cdk.Tags.of(stack).add("service", "abax-payroll")
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    )
    return app, stack


def main(argv: list[str] | None = None) -> None:
    """`python -m infra.cdk.app [name=value ...]`: context values as the CLI's `-c name=value` gives them."""
    context = dict(arg.split("=", 1) for arg in (sys.argv[1:] if argv is None else argv))
    app, stack = create_app(context, outdir=os.environ.get("CDK_OUTDIR"))
    assembly = app.synth()
    errors = [
        f"{message.id}: {message.entry.data}"
        for message in assembly.get_stack_artifact(stack.artifact_id).messages
        if message.level == "error"
    ]
    if errors:
        sys.exit("synth found errors (unsuppressed cdk-nag findings?):\n" + "\n".join(errors))
    print(f"synthesized {stack.stack_name} into {assembly.directory}")


if __name__ == "__main__":
    main()
