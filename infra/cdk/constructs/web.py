"""The reference web app (web/) as a static site: a private S3 bucket behind CloudFront (origin access control,
HTTPS only, security headers), deployed with BucketDeployment together with a generated config.json.

Two steps, so that nothing depends on itself: the bucket and the distribution exist first (the API's CORS
origins and the hosted-UI callback URLs take the distribution's domain); `deploy()` runs once the API and the
user pool client exist, because config.json names them. Order of dependencies:
bucket <- distribution <- API / user pool client / functions <- content deployment."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.cdk.constructs.nag import acknowledge

WEB_DIR = Path(__file__).resolve().parents[3] / "web"
# Served files only: the README stays in the repository; config.json is generated (see deploy()).
EXCLUDED_FROM_SITE = ["README.md", "config.json"]
SCOPES = "openid email profile"


class Web(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
        log_expiration_days: int = 90,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_retention = log_retention
        # Server access logs are allowed by a bucket policy on the log bucket, not by the deprecated
        # LogDeliveryWrite canned ACL (cfn-lint W3045). This construct's feature flag, set before its buckets.
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        # S3 server access logs and CloudFront standard logs. CloudFront's legacy log delivery writes with an
        # ACL grant, so this bucket keeps ACLs (owner preferred); it is never public.
        self.log_bucket = self._log_bucket(log_expiration_days)
        self.bucket = self._site_bucket()
        self.headers = self._security_headers()
        self.distribution = self._distribution()
        self._acknowledge_distribution_findings()

    def _log_bucket(self, expiration_days: int) -> s3.Bucket:
        return s3.Bucket(
            self,
            "Logs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,  # log delivery cannot write with a KMS key
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="ExpireLogs", expiration=Duration.days(expiration_days))],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _site_bucket(self) -> s3.Bucket:
        return s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(id="ExpireOldVersions", noncurrent_version_expiration=Duration.days(30))
            ],
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3/",
            # The content is rebuilt from web/ on every deploy, but a non-empty bucket cannot be deleted by
            # CloudFormation (and auto-delete would add another Lambda): it is kept, like the logs.
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _security_headers(self) -> cloudfront.ResponseHeadersPolicy:
        return cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="abax-payroll web app: security headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=_content_security_policy(), override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                xss_protection=cloudfront.ResponseHeadersXSSProtection(
                    protection=True, mode_block=True, override=True
                ),
            ),
        )

    def _distribution(self) -> cloudfront.Distribution:
        return cloudfront.Distribution(
            self,
            "Distribution",
            comment="abax-payroll web app",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers,
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            # Takes effect with a custom domain's certificate; the default *.cloudfront.net one has its own.
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
        )

    def _acknowledge_distribution_findings(self) -> None:
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR4",
            reason="The site is served on the distribution's *.cloudfront.net name with CloudFront's default "
            "certificate, whose security policy CloudFront fixes (TLSv1 floor); TLSv1.2_2021 applies as soon as a "
            "custom domain and ACM certificate are attached. Viewers are redirected to HTTPS.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            reason="No geo restriction: the users are invited payroll staff who may travel; every API call needs a "
            "Cognito token with MFA, and the site itself holds only static files.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            reason="The site serves static files only (no data, no forms posting here); a CloudFront WAF web ACL "
            "(us-east-1, billed per rule) is left to the operator. The API has its own WAF option.",
        )

    @property
    def origin(self) -> str:
        """The site's origin, as a browser sends it in the Origin header (no trailing slash)."""
        return f"https://{self.distribution.distribution_domain_name}"

    @property
    def url(self) -> str:
        """The site's address: hosted-UI callback and sign-out URL, config.json's redirect_uri."""
        return f"{self.origin}/"

    def deploy(self, *, api_url: str, cognito_domain_url: str | None, client_id: str | None) -> None:
        """Upload web/ and config.json, then invalidate the distribution's cache.

        With an imported user pool (no client or domain made here) no config.json is generated: upload your own
        (see web/README.md); it is excluded from the sync, so deploys neither overwrite nor prune it."""
        sources, exclude = self._site_sources(api_url, cognito_domain_url, client_id)
        # Its own role, without the wildcard actions BucketDeployment would grant: the statements are added
        # once the source assets exist (exact object keys).
        role = iam.Role(
            self,
            "DeployRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="abax-payroll: copies web/ and config.json into the site bucket, invalidates CloudFront",
        )
        log_group = logs.LogGroup(
            self, "DeployLogs", retention=self.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Content",
            destination_bucket=self.bucket,
            sources=sources,
            exclude=exclude,
            prune=True,
            retain_on_delete=True,
            distribution=self.distribution,
            distribution_paths=["/*"],
            role=role.without_policy_updates(),
            log_group=log_group,
            memory_limit=512,
        )
        self._grant_deploy_role(role, log_group)
        self._acknowledge_deploy_findings(role)

    def _site_sources(
        self, api_url: str, cognito_domain_url: str | None, client_id: str | None
    ) -> tuple[list[s3deploy.ISource], list[str] | None]:
        """web/ itself, plus a generated config.json when the user pool's client and domain are made here."""
        sources = [s3deploy.Source.asset(str(WEB_DIR), exclude=EXCLUDED_FROM_SITE)]
        if cognito_domain_url is None or client_id is None:
            return sources, ["config.json"]
        config = {
            "mode": "cognito",
            "api_url": api_url,
            "region": Aws.REGION,
            "cognito": {
                "domain": cognito_domain_url,
                "client_id": client_id,
                "redirect_uri": self.url,
                "scopes": SCOPES,
            },
        }
        sources.append(s3deploy.Source.json_data("config.json", config))
        return sources, None

    def _grant_deploy_role(self, role: iam.Role, log_group: logs.LogGroup) -> None:
        """Exactly what the sync needs: read its source assets, write and prune the site, invalidate, log."""
        assets = [child for child in self.deployment.node.children if isinstance(child, s3_assets.Asset)]
        stack = Stack.of(self)
        distribution_arn = stack.format_arn(
            service="cloudfront",
            region="",
            resource="distribution",
            resource_name=self.distribution.distribution_id,
        )
        statements = [
            iam.PolicyStatement(
                sid="ReadSources",
                actions=["s3:GetObject"],
                resources=[asset.bucket.arn_for_objects(asset.s3_object_key) for asset in assets],
            ),
            iam.PolicyStatement(
                sid="ListSite", actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn]
            ),
            iam.PolicyStatement(
                sid="WriteSite",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[self.bucket.arn_for_objects("*")],
            ),
            iam.PolicyStatement(
                sid="Invalidate",
                actions=["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"],
                resources=[distribution_arn],
            ),
            iam.PolicyStatement(
                sid="Logs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            ),
        ]
        for statement in statements:
            role.add_to_principal_policy(statement)

    def _acknowledge_deploy_findings(self, role: iam.Role) -> None:
        stack = Stack.of(self)
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(self.bucket.node.default_child)}.Arn>/*]",
            reason="BucketDeployment syncs web/ into the site bucket (aws s3 sync --delete): it writes and prunes "
            "objects whose keys follow the files in web/, so it needs the bucket's objects, and only those.",
        )
        # The CDK-provided handler function (a singleton in the stack, shared by every BucketDeployment).
        for child in stack.node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                acknowledge(
                    child,
                    "AwsSolutions-L1",
                    reason="The CDK-provided BucketDeployment handler: its runtime is chosen by aws-cdk-lib and "
                    "moves with it; it runs only during deploys.",
                )


def _content_security_policy() -> str:
    """Only this site's own files; fetch to the regional API Gateway and Cognito hosted UI (named by pattern:
    their exact names come from resources that depend on this distribution)."""
    region = Aws.REGION
    api, cognito = (
        f"https://*.execute-api.{region}.amazonaws.com",
        f"https://*.auth.{region}.amazoncognito.com",
    )
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",  # the views set a few style attributes
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {api} {cognito}",
            "form-action 'self'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
            "manifest-src 'self'",
        ]
    )
