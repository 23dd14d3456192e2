"""cdk-nag acknowledgments (cdk-nag v3 uses CDK's own Validations API): one call, rule and reason side by side."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Suppress one cdk-nag finding on `scope` and below; `reason` is written to the template's metadata."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
