"""Write local/roles.json: each function's role policies and environment, as the CDK app synthesizes them.

The local stack enforces these (local/iam.py); synthesizing the app takes ~10 s, too slow for every start of
`make serve` or of a test, so the result is kept in the repository and `tests/infra/test_local_roles.py`
fails when it no longer agrees with the synth. After changing a grant or an environment variable in
infra/cdk/: `make local-roles`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
# The local stack's account and region (local/aws.py): the synth is bound to them, as `cdk deploy` binds it.
ACCOUNT, REGION = "123456789012", "eu-north-1"
NOTIFICATION_SENDER = "lonn-noreply@abax-payroll.example"


def synthesize_template(directory: Path, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stack's template with placeholder Lambda assets (no dependency layer is built)."""
    from infra.cdk import build_assets
    from infra.cdk.app import create_app

    assets = directory / "assets"
    build_assets.build_code(assets)
    (assets / "deps" / "python").mkdir(parents=True, exist_ok=True)
    saved = {name: os.environ.get(name) for name in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION")}
    os.environ.update(CDK_DEFAULT_ACCOUNT=ACCOUNT, CDK_DEFAULT_REGION=REGION)
    try:
        app, stack = create_app(
            {
                "assets_dir": str(assets),
                "alarm_email": "alarms@example.invalid",
                # The local stack sends the companies' e-mails through moto's SES from this identity.
                "notification_sender": NOTIFICATION_SENDER,
                **(context or {}),
            },
            outdir=str(directory / "cdk.out"),
        )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    assembly = app.synth()
    template_file = Path(assembly.directory) / assembly.get_stack_artifact(stack.artifact_id).template_file
    return dict(json.loads(template_file.read_text()))


def main() -> None:
    from local.iam import ROLES_FILE, roles_from_template

    with tempfile.TemporaryDirectory() as directory:
        roles = roles_from_template(synthesize_template(Path(directory)))
    ROLES_FILE.write_text(json.dumps(roles, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {ROLES_FILE.relative_to(REPO_ROOT)} ({', '.join(roles['functions'])})")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))
    main()
