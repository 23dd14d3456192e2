"""The web app's static site: a private bucket behind CloudFront (origin access control, HTTPS only, security
headers, logs), web/ deployed with a generated config.json naming the user pool client and the API, and the
distribution's origin allowed by the API's CORS and the hosted UI's callback URLs."""

from __future__ import annotations

import json
import re

from tests.infra.conftest import CORS_ORIGIN


def _one(synthesized, resource_type: str, prefix: str) -> tuple[str, dict]:
    (match,) = [(k, r) for k, r in synthesized.resources(resource_type).items() if k.startswith(prefix)]
    return match


def _distribution(synthesized) -> tuple[str, dict]:
    logical_id, distribution = _one(synthesized, "AWS::CloudFront::Distribution", "WebDistribution")
    return logical_id, distribution["Properties"]["DistributionConfig"]


def _is_distribution_origin(value, distribution_id: str) -> bool:
    """https://<the distribution's domain name>, as CloudFormation joins it (with an optional trailing /)."""
    return value in (
        {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}]]},
        {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, "/"]]},
    )


def _deployment(synthesized) -> dict:
    (deployment,) = synthesized.resources("Custom::CDKBucketDeployment").values()
    return deployment["Properties"]


def test_site_bucket_is_private_encrypted_versioned_tls_only_and_logged(synthesized):
    bucket_id, bucket = _one(synthesized, "AWS::S3::Bucket", "WebSite")
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "AccessControl" not in props and "WebsiteConfiguration" not in props
    logs_id, _ = _one(synthesized, "AWS::S3::Bucket", "WebLogs")
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}

    _, policy = _one(synthesized, "AWS::S3::BucketPolicy", "WebSitePolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    # Nobody but CloudFront (this distribution, signed by OAC) may read; nothing is allowed to "*".
    allows = [s for s in statements if s["Effect"] == "Allow"]
    distribution_id, _ = _distribution(synthesized)
    assert [s["Principal"] for s in allows] == [{"Service": "cloudfront.amazonaws.com"}]
    (allow,) = allows
    assert allow["Action"] == "s3:GetObject"
    assert {"Ref": distribution_id} in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]
    assert bucket_id in json.dumps(allow["Resource"])


def test_log_bucket_is_private_and_expires_logs(synthesized):
    _, bucket = _one(synthesized, "AWS::S3::Bucket", "WebLogs")
    props = bucket["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert "AccessControl" not in props  # server access logs are allowed by a bucket policy, not an ACL
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90
    _, policy = _one(synthesized, "AWS::S3::BucketPolicy", "WebLogsPolicy")
    principals = [
        s["Principal"] for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert principals == [{"Service": "logging.s3.amazonaws.com"}]


def test_distribution_uses_origin_access_control(synthesized):
    oac_id, oac = _one(synthesized, "AWS::CloudFront::OriginAccessControl", "WebDistribution")
    assert oac["Properties"]["OriginAccessControlConfig"] | {"Name": None} == {
        "Name": None,
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }
    _, config = _distribution(synthesized)
    (origin,) = config["Origins"]
    bucket_id, _ = _one(synthesized, "AWS::S3::Bucket", "WebSite")
    assert origin["DomainName"] == {"Fn::GetAtt": [bucket_id, "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI


def test_distribution_redirects_to_https_serves_index_and_logs(synthesized):
    _, config = _distribution(synthesized)
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert config["DefaultRootObject"] == "index.html"
    assert config["Enabled"] is True
    logs_id, _ = _one(synthesized, "AWS::S3::Bucket", "WebLogs")
    assert config["Logging"]["Bucket"] == {"Fn::GetAtt": [logs_id, "RegionalDomainName"]}


def test_security_headers_policy(synthesized):
    policy_id, policy = _one(synthesized, "AWS::CloudFront::ResponseHeadersPolicy", "WebSecurityHeaders")
    _, config = _distribution(synthesized)
    assert config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": policy_id}
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    csp = json.dumps(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "connect-src 'self'",
    ):
        assert directive in csp
    assert (
        ".execute-api." in csp and ".amazoncognito.com" in csp
    )  # the API and the hosted UI's token endpoint
    assert "'unsafe-eval'" not in csp and "script-src 'self' 'unsafe-inline'" not in csp


def test_web_directory_is_deployed_without_the_readme(synthesized):
    props = _deployment(synthesized)
    distribution_id, _ = _distribution(synthesized)
    bucket_id, _ = _one(synthesized, "AWS::S3::Bucket", "WebSite")
    assert props["DestinationBucketName"] == {"Ref": bucket_id}
    assert props["DistributionId"] == {"Ref": distribution_id} and props["DistributionPaths"] == ["/*"]
    assert props["Prune"] is True
    directories = [
        synthesized.outdir / f"asset.{key.removesuffix('.zip')}" for key in props["SourceObjectKeys"]
    ]
    (site,) = [d for d in directories if (d / "index.html").exists()]
    files = {str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()}
    assert {"index.html", "styles.css", "js/app.js", "js/auth.js", "js/views/settings.js"} <= files
    assert "README.md" not in files and "config.json" not in files


def test_config_json_names_the_api_the_user_pool_client_and_the_site(synthesized):
    """web/README.md's keys: mode, api_url (no trailing /), cognito.domain, client_id, redirect_uri, scopes."""
    props = _deployment(synthesized)
    directories = [
        synthesized.outdir / f"asset.{key.removesuffix('.zip')}" for key in props["SourceObjectKeys"]
    ]
    ((index, config_dir),) = [(i, d) for i, d in enumerate(directories) if (d / "config.json").exists()]
    markers = props["SourceMarkers"][index]
    # At deploy time each <<marker>> becomes the JSON string its CloudFormation expression resolves to; here it
    # becomes a string holding that expression, so the test can see what it refers to.
    text = re.sub(
        r"<<marker:0xbaba:\d+>>",
        lambda match: json.dumps(json.dumps(markers[match.group(0)])),
        (config_dir / "config.json").read_text(),
    )
    config = json.loads(text)
    assert config["mode"] == "cognito"
    assert config["cognito"]["scopes"] == "openid email profile"

    client_id, _ = _one(synthesized, "AWS::Cognito::UserPoolClient", "ApiUsersWebClient")
    domain_id, _ = _one(synthesized, "AWS::Cognito::UserPoolDomain", "ApiUsersHostedUi")
    rest_api_id, _ = _one(synthesized, "AWS::ApiGateway::RestApi", "ApiRestApi")
    stage_id, _ = _one(synthesized, "AWS::ApiGateway::Stage", "ApiRestApiDeploymentStage")
    distribution_id, _ = _distribution(synthesized)
    assert json.loads(config["cognito"]["client_id"]) == {"Fn::Join": ["", ['"', {"Ref": client_id}, '"']]}
    domain = json.loads(config["cognito"]["domain"])
    assert domain["Fn::Join"][1][:2] == ['"https://', {"Ref": domain_id}]
    assert domain["Fn::Join"][1][2].endswith('.amazoncognito.com"')
    api_url = json.loads(config["api_url"])["Fn::Join"][1]
    assert api_url[:2] == ['"https://', {"Ref": rest_api_id}] and api_url[-2:] == [{"Ref": stage_id}, '"']
    redirect = json.loads(config["cognito"]["redirect_uri"])["Fn::Join"][1]
    assert redirect == ['"https://', {"Fn::GetAtt": [distribution_id, "DomainName"]}, '/"']


def test_api_cors_and_the_hosted_ui_allow_the_distribution(synthesized):
    distribution_id, _ = _distribution(synthesized)
    domain = {"Fn::GetAtt": [distribution_id, "DomainName"]}
    # The preflight names the configured origin by default, and the distribution's when it asks (by template).
    preflights = [
        m["Properties"]["Integration"]
        for m in synthesized.resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    assert preflights
    for integration in preflights:
        (response,) = integration["IntegrationResponses"]
        assert response["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"] == (
            f"'{CORS_ORIGIN}'"
        )
        template = response["ResponseTemplates"]["application/json"]["Fn::Join"][1]
        assert template[0].endswith('$origin == "https://') and template[1] == domain
    # The functions' own answers (CORS_ALLOWED_ORIGINS, comma-separated).
    for handler in ("functions.activate.app.handler", "functions.export.app.handler"):
        _, function = synthesized.function_by_handler(handler)
        origins = function["Properties"]["Environment"]["Variables"]["CORS_ALLOWED_ORIGINS"]
        assert origins == {"Fn::Join": ["", [f"{CORS_ORIGIN},https://", domain]]}
    # Gateway answers (401, 429, ...) name the hosted app's origin.
    for response in synthesized.resources("AWS::ApiGateway::GatewayResponse").values():
        header = response["Properties"]["ResponseParameters"][
            "gatewayresponse.header.Access-Control-Allow-Origin"
        ]
        assert header == {"Fn::Join": ["", ["'https://", domain, "'"]]}
    # Sign-in and sign-out return to the site.
    (client,) = synthesized.resources("AWS::Cognito::UserPoolClient").values()
    for urls in (client["Properties"]["CallbackURLs"], client["Properties"]["LogoutURLs"]):
        assert urls[0] == f"{CORS_ORIGIN}/"
        assert _is_distribution_origin(urls[1], distribution_id)


def test_deploy_role_is_least_privilege(synthesized):
    (deploy_function,) = [
        f
        for k, f in synthesized.resources("AWS::Lambda::Function").items()
        if k.startswith("CustomCDKBucketDeployment")
    ]
    role_id, role = _one(synthesized, "AWS::IAM::Role", "WebDeployRole")
    assert deploy_function["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert "ManagedPolicyArns" not in role["Properties"]
    _, policy = _one(synthesized, "AWS::IAM::Policy", "WebDeployRole")
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements) == {"ReadSources", "ListSite", "WriteSite", "Invalidate", "Logs"}
    sources = _deployment(synthesized)["SourceObjectKeys"]
    assert sorted(r.rsplit("/", 1)[1] for r in statements["ReadSources"]["Resource"]) == sorted(sources)
    assert sorted(statements["WriteSite"]["Action"]) == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    distribution_id, _ = _distribution(synthesized)
    assert {"Ref": distribution_id} in statements["Invalidate"]["Resource"]["Fn::Join"][1]


def test_outputs_name_the_site(synthesized):
    distribution_id, _ = _distribution(synthesized)
    outputs = synthesized.template["Outputs"]
    assert _is_distribution_origin(outputs["WebUrl"]["Value"], distribution_id)
    bucket_id, _ = _one(synthesized, "AWS::S3::Bucket", "WebSite")
    assert outputs["WebBucketName"]["Value"] == {"Ref": bucket_id}


def test_web_construct_deploys_no_config_with_an_imported_user_pool(tmp_path):
    """An imported pool has no client or domain made here: the operator's own config.json is neither
    overwritten nor pruned."""
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from infra.cdk.constructs.web import Web

    stack = Stack(
        App(outdir=str(tmp_path)), "WebOnly", env={"account": "123456789012", "region": "eu-north-1"}
    )
    web = Web(stack, "Web")
    web.deploy(api_url="https://api.example.no/v1", cognito_domain_url=None, client_id=None)
    (deployment,) = Template.from_stack(stack).find_resources("Custom::CDKBucketDeployment").values()
    assert deployment["Properties"]["Exclude"] == ["config.json"]
    assert len(deployment["Properties"]["SourceObjectKeys"]) == 1
