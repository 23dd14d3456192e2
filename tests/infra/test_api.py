"""The API: SPEC section 4's routes under /v1, Cognito on each, validation, throttling, CORS, access logs."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from infra.cdk.constructs.api import ROUTES
from infra.cdk.constructs.gateway_models import BODY_MODELS, gateway_schema
from tests.infra.conftest import CORS_ORIGIN

# SPEC section 4, plus GET /pay-items (the web app maps codes by pay-item name).
SPEC_ROUTES = {
    ("GET", "/integrations/poweroffice"),
    ("POST", "/integrations/poweroffice/activate"),
    ("POST", "/integrations/poweroffice/deactivate"),
    ("GET", "/integrations/abax"),
    ("POST", "/integrations/abax/activate"),
    ("POST", "/integrations/abax/deactivate"),
    ("GET", "/payroll-codes"), ("PUT", "/payroll-codes"),
    ("GET", "/pay-items"),
    ("GET", "/rates"), ("PUT", "/rates"),
    ("POST", "/exports/preview"), ("GET", "/exports/previews/{preview_id}"),
    ("POST", "/exports"), ("GET", "/exports"),
    ("GET", "/exports/{export_id}"),
    ("GET", "/exports/{export_id}/report"), ("GET", "/exports/{export_id}/report.csv"),
    ("GET", "/exports/{export_id}/problems/{code}"), ("GET", "/exports/{export_id}/lines"),
    ("GET", "/exports/{export_id}/left-behind"),
    ("GET", "/exports/previews/{preview_id}/problems/{code}"), ("GET", "/exports/previews/{preview_id}/lines"),
    ("GET", "/schedule"), ("PUT", "/schedule"),
}  # fmt: skip


def _paths(synthesized) -> dict[str, str]:
    """Logical id of each API Gateway resource -> its full path."""
    resources = synthesized.resources("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            parent = props["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
            paths[logical_id] = f"{prefix}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    return paths


def _methods(synthesized) -> dict[tuple[str, str], dict]:
    paths = _paths(synthesized)
    methods = {}
    for method in synthesized.resources("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource = props["ResourceId"]
        path = paths[resource["Ref"]] if "Ref" in resource else "/"
        methods[(props["HttpMethod"], path)] = props
    return methods


def test_routes_are_exactly_the_spec(synthesized):
    assert {(m, p) for m, p, *_ in ROUTES} == SPEC_ROUTES
    assert {route for route in _methods(synthesized) if route[0] != "OPTIONS"} == SPEC_ROUTES


def test_every_route_needs_a_cognito_token_and_goes_to_its_function(synthesized):
    activate_id, _ = synthesized.function_by_handler("functions.activate.app.handler")
    export_id, _ = synthesized.function_by_handler("functions.export.app.handler")
    for (method, path), props in _methods(synthesized).items():
        if method == "OPTIONS":
            assert props["AuthorizationType"] == "NONE"  # CORS preflight carries no token
            continue
        assert props["AuthorizationType"] == "COGNITO_USER_POOLS", (method, path)
        assert props["AuthorizerId"]["Ref"].startswith("ApiAuthorizer")
        assert props["Integration"]["Type"] == "AWS_PROXY"
        target = activate_id if path.startswith("/integrations") else export_id
        assert target in json.dumps(props["Integration"]["Uri"]), (method, path)


def test_bodies_are_validated_against_models(synthesized):
    for (method, path), props in _methods(synthesized).items():
        if method in ("POST", "PUT") and not path.endswith("/deactivate"):
            assert props["RequestValidatorId"]["Ref"].startswith("ApiValidator"), (method, path)
            assert "application/json" in props["RequestModels"], (method, path)
    models = {
        m["Properties"]["Name"]: m["Properties"]["Schema"]
        for m in synthesized.resources("AWS::ApiGateway::Model").values()
    }
    assert models["Schedule"]["properties"]["day_of_month"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 28,
    }
    assert models["ActivateRequest"]["required"] == ["client_key"]
    assert models["AbaxActivateRequest"]["required"] == ["client_id", "client_secret"]
    template_validator = synthesized.resources("AWS::ApiGateway::RequestValidator")
    assert [v["Properties"]["ValidateRequestBody"] for v in template_validator.values()] == [True]


def test_stage_v1_traces_throttles_and_writes_access_logs(template):
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "v1",
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": {"Fn::GetAtt": [Match.string_like_regexp("ApiAccessLogs"), "Arn"]},
                "Format": Match.string_like_regexp("requestId"),
            },
            "MethodSettings": [
                Match.object_like(
                    {
                        "DataTraceEnabled": False,
                        "LoggingLevel": "ERROR",
                        "MetricsEnabled": True,
                        "ThrottlingRateLimit": 200,
                        "ThrottlingBurstLimit": 400,
                        "HttpMethod": "*",
                        "ResourcePath": "/*",
                    }
                )
            ],
        },
    )
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"EndpointConfiguration": {"Types": ["REGIONAL"]}}
    )


def test_cors_preflight_allows_the_configured_origin(synthesized):
    preflights = [p for (m, _), p in _methods(synthesized).items() if m == "OPTIONS"]
    assert preflights
    for props in preflights:
        headers = props["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == f"'{CORS_ORIGIN}'"
        assert "Authorization" in headers["method.response.header.Access-Control-Allow-Headers"]


def test_gateway_errors_are_problem_json(synthesized):
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in synthesized.resources("AWS::ApiGateway::GatewayResponse").values()
    }
    assert {
        "BAD_REQUEST_BODY",
        "UNAUTHORIZED",
        "ACCESS_DENIED",
        "THROTTLED",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    } <= set(responses)
    bad_body = responses["BAD_REQUEST_BODY"]
    assert (
        bad_body["ResponseParameters"]["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
    )
    assert (
        bad_body["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
        # one origin can be named statically: the hosted web app's (test_web.py)
        == {"Fn::Join": ["", ["'https://", {"Fn::GetAtt": ["WebDistributionCF3E234B", "DomainName"]}, "'"]]}
    )
    assert '"code": "INVALID_REQUEST"' in bad_body["ResponseTemplates"]["application/json"]
    # A missing or bad token: the code a client sees is the same whether API Gateway or a handler refuses it.
    from abax_payroll.api.common import Unauthorized

    unauthorized = responses["UNAUTHORIZED"]["ResponseTemplates"]["application/json"]
    assert (
        f'"code": "{Unauthorized.code}"' in unauthorized
        and f'"title": "{Unauthorized.title}"' in unauthorized
    )


def test_user_pool_has_the_tenant_attribute_groups_and_a_client_that_cannot_write_the_tenant(
    template, synthesized
):
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "Schema": Match.array_with([Match.object_like({"Name": "tenant_id", "Mutable": False})]),
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "MfaConfiguration": "ON",
            "DeletionProtection": "ACTIVE",
        },
    )
    groups = {
        g["Properties"]["GroupName"] for g in synthesized.resources("AWS::Cognito::UserPoolGroup").values()
    }
    assert groups == {"admin", "payroll"}
    (client,) = synthesized.resources("AWS::Cognito::UserPoolClient").values()
    assert "custom:tenant_id" in client["Properties"]["ReadAttributes"]
    assert "custom:tenant_id" not in client["Properties"]["WriteAttributes"]
    assert not client["Properties"].get("GenerateSecret")
    # The web app's hosted-UI sign-in (web/js/auth.js): authorization code with PKCE, back to the site.
    assert client["Properties"]["AllowedOAuthFlows"] == ["code"]
    assert set(client["Properties"]["AllowedOAuthScopes"]) == {"openid", "email", "profile"}
    # the configured origin, then the hosted web app (test_web.py)
    assert client["Properties"]["CallbackURLs"] == client["Properties"]["LogoutURLs"]
    assert client["Properties"]["CallbackURLs"][0] == f"{CORS_ORIGIN}/"
    assert "WebDistribution" in json.dumps(client["Properties"]["CallbackURLs"][1])
    assert len(synthesized.resources("AWS::Cognito::UserPoolDomain")) == 1
    assert "CognitoDomainUrl" in synthesized.template["Outputs"]


def test_lambda_permissions_are_scoped_to_one_method_each(synthesized):
    permissions = synthesized.resources("AWS::Lambda::Permission").values()
    api_permissions = [p for p in permissions if p["Properties"]["Principal"] == "apigateway.amazonaws.com"]
    assert len(api_permissions) == len(SPEC_ROUTES)
    for permission in api_permissions:
        *_, stage, method_and_path = permission["Properties"]["SourceArn"]["Fn::Join"][1]
        assert stage["Ref"].startswith("ApiRestApiDeploymentStagev1")
        method, path = method_and_path.split("/", 2)[1:]
        # a path parameter is a * in the source ARN; nothing else is
        names = [("{preview_id}" if path.startswith("exports/previews/") else "{export_id}"), "{code}"]
        parts = f"/{path}".split("*")
        route = "".join(part + (names[at] if at < len(parts) - 1 else "") for at, part in enumerate(parts))
        assert (method, route) in SPEC_ROUTES


def test_api_functions_know_the_allowed_origins(synthesized):
    for handler in ("functions.activate.app.handler", "functions.export.app.handler"):
        _, function = synthesized.function_by_handler(handler)
        origins = function["Properties"]["Environment"]["Variables"]["CORS_ALLOWED_ORIGINS"]
        # the configured origin, then the hosted web app's (test_web.py)
        assert origins["Fn::Join"][1][0] == f"{CORS_ORIGIN},https://"


def test_each_company_has_its_own_share_of_the_api_below_the_stages_total(synthesized):
    """The stage's throttling is the service's total, shared by every company: the API functions count each
    company's requests against its own share (api/common.py), so one company cannot starve the others."""
    for handler in ("functions.activate.app.handler", "functions.export.app.handler"):
        _, function = synthesized.function_by_handler(handler)
        share = float(function["Properties"]["Environment"]["Variables"]["TENANT_REQUESTS_PER_SECOND"])
        (stage,) = synthesized.resources("AWS::ApiGateway::Stage").values()
        (settings,) = stage["Properties"]["MethodSettings"]
        assert 0 < share * 10 <= settings["ThrottlingRateLimit"]


def test_production_context_has_no_localhost_origin_or_callback(synthesized):
    """cdk.json is what a plain `cdk deploy` uses: the web app's own CloudFront origin is always allowed,
    nothing on the operator's laptop is."""
    from infra.cdk.app import CDK_JSON

    assert "localhost" not in CDK_JSON.read_text()
    assert "localhost" not in json.dumps(synthesized.template)


def _api_stack(tmp_path, name: str, **config):
    from aws_cdk import App, Stack
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk.assertions import Template

    from infra.cdk.constructs.api import Api, ApiConfig

    stack = Stack(
        App(outdir=str(tmp_path / name)), name, env={"account": "123456789012", "region": "eu-north-1"}
    )
    handler = {
        "runtime": lambda_.Runtime.PYTHON_3_13,
        "handler": "app.handler",
        "code": lambda_.Code.from_inline("def handler(event, context): ..."),
    }
    Api(
        stack,
        "Api",
        config=ApiConfig(cors_allowed_origins=[CORS_ORIGIN], **config),
        activate=lambda_.Function(stack, "Activate", **handler),
        export_api=lambda_.Function(stack, "Export", **handler),
    )
    return Template.from_stack(stack)


def test_the_accounts_api_gateway_logging_role_is_set_only_when_asked_for(tmp_path, synthesized):
    """AWS::ApiGateway::Account is one per account and region: a second stage (or another application) would
    overwrite it, so a stack writes it only with -c api_gateway_cloudwatch_role=true."""
    assert not synthesized.resources("AWS::ApiGateway::Account")
    asked = _api_stack(tmp_path, "Owner", cloudwatch_role=True, user_pool_id="eu-north-1_Abc123")
    asked.resource_count_is("AWS::ApiGateway::Account", 1)


def test_an_existing_user_pool_can_be_imported(tmp_path):
    """`-c user_pool_id=...`: no pool, groups or client are created; the authorizer trusts the given pool."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk.assertions import Template

    from infra.cdk.constructs.api import Api, ApiConfig

    stack = Stack(
        App(outdir=str(tmp_path)), "ImportedPool", env={"account": "123456789012", "region": "eu-north-1"}
    )
    handler = {
        "runtime": lambda_.Runtime.PYTHON_3_13,
        "handler": "app.handler",
        "code": lambda_.Code.from_inline("def handler(event, context): ..."),
    }
    Api(
        stack,
        "Api",
        config=ApiConfig(
            cors_allowed_origins=[CORS_ORIGIN, "https://other.example.no"], user_pool_id="eu-north-1_Abc123"
        ),
        activate=lambda_.Function(stack, "Activate", **handler),
        export_api=lambda_.Function(stack, "Export", **handler),
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Cognito::UserPool", 0)
    template.resource_count_is("AWS::Cognito::UserPoolClient", 0)
    template.resource_count_is("AWS::Cognito::UserPoolGroup", 0)
    (authorizer,) = template.find_resources("AWS::ApiGateway::Authorizer").values()
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert "userpool/eu-north-1_Abc123" in json.dumps(authorizer["Properties"]["ProviderARNs"])


def test_the_gateway_models_are_the_handlers_models(synthesized):
    """Each route's gateway model is generated from the pydantic model its handler reads, and holds no more."""
    from jsonschema import Draft4Validator

    from abax_payroll.api.openapi import openapi_document

    paths = openapi_document()["paths"]
    models = {
        m["Properties"]["Name"]: m["Properties"]["Schema"]
        for m in synthesized.resources("AWS::ApiGateway::Model").values()
    }
    for method, path, _, model in ROUTES:
        body = paths[path][method.lower()].get("requestBody")
        handler_model = (
            body["content"]["application/json"]["schema"]["$ref"].rpartition("/")[2] if body else None
        )
        assert model == handler_model, (method, path)
    for name, model_class in BODY_MODELS.items():
        synthesized_schema = {key: value for key, value in models[name].items() if key != "$schema"}
        assert synthesized_schema == gateway_schema(model_class), name
    # What the handler takes, the gateway lets through (the key's bound was 200 at the gateway, 512 in the model).
    taken = {
        "ActivateRequest": {"client_key": "k" * 512},
        "PayrollCodes": {"codes": {"mileage": " 710 ", "toll": None}, "taxable_excess": None},
        "Rates": {
            "rates": [{"category": "mileage", "valid_from": "2026-01-01", "rate": "5.30", "valid_to": None}]
        },
        "Schedule": {"enabled": True, "day_of_month": 28},
        "PeriodRequest": {"from": "2026-10-01", "to": "2026-10-31", "logbook_ids": ["d-1:v-1:2026-10"]},
    }
    for name, body in taken.items():
        BODY_MODELS[name].model_validate(body)
        assert list(Draft4Validator(models[name]).iter_errors(body)) == [], name
    assert list(Draft4Validator(models["ActivateRequest"]).iter_errors({"client_key": "k" * 513}))
    assert list(Draft4Validator(models["Schedule"]).iter_errors({"enabled": True, "day_of_month": 29}))
