"""The HTTP API: API Gateway REST under /v1, Cognito on every route, request validation,
throttling, CORS for the web frontend, access logs, problem+json for the answers the gateway gives itself."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.cdk.constructs.gateway_models import REQUEST_MODELS
from infra.cdk.constructs.nag import acknowledge

STAGE = "v1"  # the stage name is the base path: https://{api}.execute-api.{region}.amazonaws.com/v1/exports
GROUPS = {"admin": "May do everything, including activating the PowerOffice Go integration",
          "payroll": "May map payroll codes, set rates and schedules, preview and export"}  # fmt: skip

# (method, path, function key, request model): every route of the API (docs/openapi.json), exactly.
ROUTES: list[tuple[str, str, str, str | None]] = [
    ("GET", "/integrations/poweroffice", "activate", None),
    ("POST", "/integrations/poweroffice/activate", "activate", "ActivateRequest"),
    ("POST", "/integrations/poweroffice/deactivate", "activate", None),
    ("GET", "/integrations/abax", "activate", None),
    ("POST", "/integrations/abax/activate", "activate", "AbaxActivateRequest"),
    ("POST", "/integrations/abax/deactivate", "activate", None),
    ("GET", "/payroll-codes", "export", None),
    ("PUT", "/payroll-codes", "export", "PayrollCodes"),
    ("GET", "/pay-items", "export", None),
    ("GET", "/rates", "export", None),
    ("PUT", "/rates", "export", "Rates"),
    ("GET", "/schedule", "export", None),
    ("PUT", "/schedule", "export", "Schedule"),
    ("POST", "/exports/preview", "export", "PeriodRequest"),
    ("GET", "/exports/previews/{preview_id}", "export", None),  # a search that answered 202 (issue 16)
    ("GET", "/exports", "export", None),
    ("POST", "/exports", "export", "PeriodRequest"),
    ("GET", "/exports/{export_id}", "export", None),
    ("GET", "/exports/{export_id}/report", "export", None),
    ("GET", "/exports/{export_id}/report.csv", "export", None),
    # What grows with a company, paged (issue 16): a long problem, the lines
    ("GET", "/exports/{export_id}/problems/{code}", "export", None),
    ("GET", "/exports/{export_id}/lines", "export", None),
    ("GET", "/exports/{export_id}/left-behind", "export", None),
    ("GET", "/exports/previews/{preview_id}/problems/{code}", "export", None),
    ("GET", "/exports/previews/{preview_id}/lines", "export", None),
]
PAGED = {"method.request.querystring.offset": False, "method.request.querystring.limit": False}
QUERY_PARAMETERS = {("GET", "/exports"): {"method.request.querystring.limit": False,
                                          "method.request.querystring.next_token": False},
                    **{("GET", path): PAGED for _, path, _, _ in ROUTES if path.endswith(("/lines", "/{code}", "/left-behind"))},
                    **{("GET", path): {"method.request.querystring.part": False} for _, path, _, _ in ROUTES if path.endswith(("/report", "/report.csv"))}}  # fmt: skip

# Answers API Gateway gives before a handler runs, in the same problem+json shape the handlers use.
GATEWAY_PROBLEMS: dict[apigw.ResponseType, tuple[str, int | None, str]] = {
    apigw.ResponseType.BAD_REQUEST_BODY: ("INVALID_REQUEST", 400, "Invalid request"),
    apigw.ResponseType.BAD_REQUEST_PARAMETERS: ("INVALID_REQUEST", 400, "Invalid request"),
    # The same code and title the handlers and the local gateway answer with (abax_payroll.api.common).
    apigw.ResponseType.UNAUTHORIZED: ("UNAUTHORIZED", 401, "Not signed in"),
    apigw.ResponseType.ACCESS_DENIED: ("FORBIDDEN", 403, "Not allowed"),
    apigw.ResponseType.THROTTLED: ("THROTTLED", 429, "Too many requests"),
    apigw.ResponseType.DEFAULT_4_XX: ("REQUEST_REFUSED", None, "Request refused"),
    apigw.ResponseType.DEFAULT_5_XX: ("GATEWAY_ERROR", None, "The service is unavailable"),
}


@dataclass(frozen=True)
class ApiConfig:
    cors_allowed_origins: list[str]
    # The stage's limit is the whole service's ceiling, shared by every company; each company's own share is
    # counted by the API functions (TENANT_REQUESTS_PER_SECOND, api/common.py), so no company can spend the
    # stage's budget for the others.
    throttling_rate_limit: float = 200
    throttling_burst_limit: int = 400
    tenant_requests_per_second: float = 10
    user_pool_id: str | None = None  # import an existing pool instead of creating one
    # The web app signs in through the hosted UI (authorization code + PKCE); it returns to these URLs.
    # Default: each CORS origin followed by "/".
    web_app_urls: list[str] | None = None
    # Hosted-UI domain prefix (unique per region); default: the stack name and the account id.
    cognito_domain_prefix: str | None = None
    waf_web_acl_arn: str | None = None
    log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS
    # AWS::ApiGateway::Account is one per account and region, whichever stack writes it last wins: exactly one
    # stack (or the operator, once) sets it; the others expect it (DEPLOY.md).
    cloudwatch_role: bool = False


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ApiConfig,
        activate: lambda_.Function,
        export_api: lambda_.Function,
        web_origin: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not config.cors_allowed_origins and not web_origin:
            raise ValueError("cors_allowed_origins: give the web frontend's origin(s)")
        self.config = config
        # The hosted web app's origin (https://<distribution domain>, a token) comes after the configured ones.
        self.web_origin = web_origin
        self.origins = [*config.cors_allowed_origins, *([web_origin] if web_origin else [])]
        # Lambda proxy answers carry their own CORS headers: the handlers echo the request's Origin when it is
        # one of these (settings ignores the variable; the API layer reads it).
        for function in (activate, export_api):
            function.add_environment("CORS_ALLOWED_ORIGINS", ",".join(self.origins))
            function.add_environment("TENANT_REQUESTS_PER_SECOND", str(config.tenant_requests_per_second))
        self.web_client: cognito.UserPoolClient | None = None
        self.domain: cognito.UserPoolDomain | None = None
        self.user_pool = self._user_pool(config)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=config.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.rest_api = self._rest_api(config)
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            cognito_user_pools=[self.user_pool],
            identity_source="method.request.header.Authorization",
        )
        self.validator = apigw.RequestValidator(
            self,
            "Validator",
            rest_api=self.rest_api,
            validate_request_body=True,
            validate_request_parameters=True,
        )
        self.models = self._models()
        self.methods = self._routes(activate, export_api)
        self._gateway_problems()
        self._waf_and_nag(config)

    @property
    def url(self) -> str:
        return self.rest_api.url

    @property
    def base_url(self) -> str:
        """The API's base URL without the trailing slash (config.json's api_url)."""
        stack = Stack.of(self)
        return (
            f"https://{self.rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}"
            f"/{self.rest_api.deployment_stage.stage_name}"
        )

    def _rest_api(self, config: ApiConfig) -> apigw.RestApi:
        return apigw.RestApi(
            self,
            "RestApi",
            description="abax-payroll: ABAX logbooks to PowerOffice Go salary lines",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The account-wide role API Gateway needs for execution and access logs, only when asked for (one
            # stack per account and region may own it); kept when the stack goes.
            cloud_watch_role=config.cloudwatch_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if config.cloudwatch_role else None,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request and response bodies hold client keys and salary data
                throttling_rate_limit=config.throttling_rate_limit,
                throttling_burst_limit=config.throttling_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=self.origins,
                allow_methods=["GET", "POST", "PUT", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=Duration.hours(1),
            ),
        )

    def _models(self) -> dict[str, apigw.Model]:
        """The request models, generated from the handlers' pydantic models (gateway_models.py)."""
        return {
            name: self.rest_api.add_model(
                name,
                model_name=name,
                content_type="application/json",
                schema=_json_schema(schema),
            )
            for name, schema in REQUEST_MODELS.items()
        }

    def _routes(
        self, activate: lambda_.Function, export_api: lambda_.Function
    ) -> dict[tuple[str, str], apigw.Method]:
        integrations = {
            "activate": apigw.LambdaIntegration(activate, allow_test_invoke=False),
            "export": apigw.LambdaIntegration(export_api, allow_test_invoke=False),
        }
        methods: dict[tuple[str, str], apigw.Method] = {}
        for method, path, function_key, model in ROUTES:
            resource = self.rest_api.root.resource_for_path(path)
            methods[(method, path)] = resource.add_method(
                method,
                integrations[function_key],
                authorizer=self.authorizer,
                authorization_type=apigw.AuthorizationType.COGNITO,
                request_validator=self.validator,
                request_models={"application/json": self.models[model]} if model else None,
                request_parameters=QUERY_PARAMETERS.get((method, path)),
            )
        return methods

    def _waf_and_nag(self, config: ApiConfig) -> None:
        if config.cloudwatch_role:
            acknowledge(
                self.rest_api.node.find_child("CloudWatchRole"),
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
                reason="The account-level role API Gateway uses to write execution logs; this AWS-managed policy is the "
                "one AWS documents for it and is scoped to CloudWatch Logs.",
            )
        if not config.waf_web_acl_arn:
            acknowledge(
                self.rest_api.deployment_stage,
                "AwsSolutions-APIG3",
                reason="WAF is the operator's choice (cost, shared web ACLs): pass -c waf_web_acl_arn=... to associate one. "
                "Every route needs a Cognito token, and stage throttling limits abuse.",
            )
        if config.waf_web_acl_arn:
            wafv2.CfnWebACLAssociation(
                self,
                "WebAcl",
                resource_arn=self.rest_api.deployment_stage.stage_arn,
                web_acl_arn=config.waf_web_acl_arn,
            )

    def _user_pool(self, config: ApiConfig) -> cognito.IUserPool:
        if config.user_pool_id:
            # An existing pool must carry the custom:tenant_id attribute, the admin and payroll groups, and an
            # app client for the web frontend.
            return cognito.UserPool.from_user_pool_id(self, "Users", config.user_pool_id)
        pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,  # admins invite users and set their tenant
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            custom_attributes={
                # Set once by an administrator; users can neither choose nor change their tenant.
                "tenant_id": cognito.StringAttribute(min_len=1, max_len=64, mutable=False),
            },
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            pool,
            "AwsSolutions-COG8",
            reason="Users are a few invited payroll staff per tenant, with MFA (TOTP) required and self sign-up off; "
            "the Plus tier's threat protection is billed per user and left to the operator (or import a pool).",
        )
        for group_name, description in GROUPS.items():
            cognito.CfnUserPoolGroup(
                self, f"{group_name.capitalize()}Group", user_pool_id=pool.user_pool_id, group_name=group_name,
                description=description,
            )  # fmt: skip
        self.domain, self.web_client = self._hosted_sign_in(pool, config)
        return pool

    def _hosted_sign_in(
        self, pool: cognito.UserPool, config: ApiConfig
    ) -> tuple[cognito.UserPoolDomain, cognito.UserPoolClient]:
        """The hosted UI's domain and the web app's client (authorization code + PKCE, no secret)."""
        stack = Stack.of(self)
        domain = pool.add_domain(
            "HostedUi",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=config.cognito_domain_prefix or f"{stack.stack_name.lower()}-{Aws.ACCOUNT_ID}"
            ),
        )
        web_app_urls = config.web_app_urls or [
            f"{origin.rstrip('/')}/" for origin in config.cors_allowed_origins
        ]
        if self.web_origin:  # the hosted web app signs in and out on its own address too
            web_app_urls = [*web_app_urls, f"{self.web_origin}/"]
        client = pool.add_client(
            "WebClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=web_app_urls,
                logout_urls=web_app_urls,
            ),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(1),
            read_attributes=cognito.ClientAttributes()
            .with_standard_attributes(email=True, email_verified=True, fullname=True)
            .with_custom_attributes("tenant_id"),
            # No custom:tenant_id here: the client must never write the tenant.
            write_attributes=cognito.ClientAttributes().with_standard_attributes(fullname=True),
        )
        return domain, client

    def _gateway_problems(self) -> None:
        headers = {"Content-Type": "'application/problem+json'"}
        # One origin can be named statically, so the browser may read 401/429 answers too: the hosted web app's
        # when the stack serves it, else a single configured origin.
        static_origin = self.web_origin or (
            self.config.cors_allowed_origins[0] if len(self.config.cors_allowed_origins) == 1 else None
        )
        if static_origin:
            headers["Access-Control-Allow-Origin"] = f"'{static_origin}'"
        for response_type, (code, status, title) in GATEWAY_PROBLEMS.items():
            status_part = f'"status": {status}, ' if status else ""
            template = (
                f'{{"type": "about:blank", "title": "{title}", {status_part}'
                f'"detail": $context.error.messageString, "code": "{code}", "problems": []}}'
            )
            self.rest_api.add_gateway_response(
                response_type.response_type,
                type=response_type,
                status_code=str(status) if status else None,
                response_headers=headers,
                templates={"application/json": template},
            )


def _json_schema(schema: dict, *, root: bool = True) -> apigw.JsonSchema:
    """A plain dict as an API Gateway model schema (draft 4), converted recursively."""
    kwargs: dict = {"schema": apigw.JsonSchemaVersion.DRAFT4} if root else {}
    for key, value in schema.items():
        if key == "type":
            kinds = value if isinstance(value, list) else [value]
            converted = [apigw.JsonSchemaType[kind.upper()] for kind in kinds]
            kwargs["type"] = converted if isinstance(value, list) else converted[0]
        elif key == "properties":
            kwargs["properties"] = {name: _json_schema(sub, root=False) for name, sub in value.items()}
        elif key == "items":
            kwargs["items"] = _json_schema(value, root=False)
        elif key == "anyOf":
            kwargs["any_of"] = [_json_schema(option, root=False) for option in value]
        elif key == "additionalProperties":
            kwargs["additional_properties"] = (
                _json_schema(value, root=False) if isinstance(value, dict) else value
            )
        else:
            kwargs[_snake(key)] = value
    return apigw.JsonSchema(**kwargs)


def _snake(name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in name)
