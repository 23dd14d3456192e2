"""One synthesized stack per test session (a synth with cdk-nag takes ~10 s), shared by every infra test and,
under pytest-xdist, by every worker: the first one synthesizes under a file lock, the others read its output.

The Lambda code is copied by build_assets.build_code into a temporary directory; the dependency layer is an
empty placeholder, so these tests need no network (`make synth` builds the real layer)."""

from __future__ import annotations

import fcntl
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.cdk import build_assets

STACK_NAME = "AbaxPayrollTest"
CORS_ORIGIN = "https://payroll.example.no"
ALARM_EMAIL = "payroll-alarms@example.no"
ACCOUNT, REGION = "123456789012", "eu-north-1"
# The companies' e-mails about their scheduled exports (the same sender `make local-roles` synthesizes with).
NOTIFICATION_SENDER = "lonn-noreply@abax-payroll.example"


@dataclass(frozen=True)
class Synthesized:
    template: dict[str, Any]
    template_path: Path
    outdir: Path

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == resource_type}

    def function_by_handler(self, handler: str) -> tuple[str, dict[str, Any]]:
        (match,) = [
            (k, r)
            for k, r in self.resources("AWS::Lambda::Function").items()
            if r["Properties"]["Handler"] == handler
        ]
        return match


def placeholder_assets(directory: Path) -> Path:
    build_assets.build_code(directory)
    (directory / "deps" / "python").mkdir(parents=True, exist_ok=True)
    return directory


def synthesize(directory: Path) -> Synthesized:
    """Bound to an account and region, as `cdk deploy` synthesizes it (ARNs then hold literal regions)."""
    from infra.cdk.app import create_app

    assets = placeholder_assets(directory / "assets")
    outdir = directory / "cdk.out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CDK_DEFAULT_ACCOUNT", ACCOUNT)
        patch.setenv("CDK_DEFAULT_REGION", REGION)
        app, stack = create_app(
            {
                "assets_dir": str(assets),
                "stack_name": STACK_NAME,
                "cors_allowed_origins": CORS_ORIGIN,
                "alarm_email": ALARM_EMAIL,
                "notification_sender": NOTIFICATION_SENDER,
            },
            outdir=str(outdir),
        )
    assembly = app.synth()  # raises if cdk-nag reports an unacknowledged finding
    template_path = Path(assembly.directory) / assembly.get_stack_artifact(stack.artifact_id).template_file
    return Synthesized(
        template=json.loads(template_path.read_text()), template_path=template_path, outdir=outdir
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Synthesized:
    if worker_id == "master":
        return synthesize(tmp_path_factory.mktemp("infra"))
    shared = tmp_path_factory.getbasetemp().parent / "infra-synth"  # the same directory for every worker
    shared.mkdir(exist_ok=True)
    with (shared / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "template-path"
        if not done.exists():
            result = synthesize(shared)
            done.write_text(str(result.template_path))
            return result
    template_path = Path(done.read_text())
    return Synthesized(
        template=json.loads(template_path.read_text()), template_path=template_path, outdir=shared / "cdk.out"
    )


@pytest.fixture(scope="session")
def template(synthesized: Synthesized):
    from aws_cdk.assertions import Template

    return Template.from_json(synthesized.template)
