"""cdk-nag runs in the app (an unacknowledged finding fails the synth); each acknowledgment is deliberate and
carries its reason; the synthesized template passes cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path

from cfnlint.api import ManualArgs, lint_file

from infra.cdk.constructs.secrets import stage_secret_names
from tests.infra.conftest import STACK_NAME

NAMES = stage_secret_names(STACK_NAME)  # the test stack's stage

EXPECTED_ACKNOWLEDGMENTS = {
    "AwsSolutions-IAM5[Resource::*]",  # X-Ray and log delivery actions have no resource-level permissions
    f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:{NAMES['client_key_secret_prefix']}*]",
    # Each company's own ABAX API client, one secret per tenant under this prefix (issue 13).
    f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:{NAMES['abax_client_secret_prefix']}*]",
    "AwsSolutions-IAM5[Resource::<FunctionsSchedule01D2ACCF.Arn>:*]",
    "AwsSolutions-IAM5[Resource::<FunctionsReconcileA7FC4E8E.Arn>:*]",
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
    "<WorkflowExportStateMachineC19B3F5E.Name>:*]",
    "AwsSolutions-L1",
    "AwsSolutions-COG8",
    "AwsSolutions-APIG3",
    # the web app's distribution (default certificate, no geo restriction or WAF) and its content deployment
    "AwsSolutions-CFR1",
    "AwsSolutions-CFR2",
    "AwsSolutions-CFR4",
    "AwsSolutions-IAM5[Resource::<WebSiteD504717C.Arn>/*]",
    # the export functions' snapshots of ABAX answers: objects under snapshots/, short-lived, no access log
    "AwsSolutions-IAM5[Resource::<DataSnapshotsF18E64B3.Arn>/snapshots/*]",
    # the exports' documentation reports: objects under reports/ (Group writes, the API reads)
    "AwsSolutions-IAM5[Resource::<DataSnapshotsF18E64B3.Arn>/reports/*]",
    "AwsSolutions-S1",
}
# CDK adds DependsOn on a function's role that a GetAtt already implies: harmless, and not ours to change.
IGNORED_LINT_RULES = {"W3005"}


def _acknowledgments(template: dict) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for resource in template["Resources"].values():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            found.setdefault(rule["id"], set()).add(rule["reason"])
    return found


def test_nag_found_nothing_unacknowledged(synthesized):
    report = synthesized.outdir / "validation-report.json"
    if report.exists():  # written only when a plugin reports something
        violations = [v for r in json.loads(report.read_text())["pluginReports"] for v in r["violations"]]
        assert violations == []


def test_every_acknowledgment_is_expected_and_has_a_reason(synthesized):
    acknowledgments = _acknowledgments(synthesized.template)
    assert set(acknowledgments) == EXPECTED_ACKNOWLEDGMENTS
    for rule, reasons in acknowledgments.items():
        assert all(len(reason) > 40 for reason in reasons), rule


def test_template_passes_cfn_lint(synthesized):
    matches = lint_file(
        Path(synthesized.template_path), config=ManualArgs(regions=["eu-north-1", "eu-west-1"])
    )
    problems = [str(match) for match in matches if match.rule.id not in IGNORED_LINT_RULES]
    assert problems == []
