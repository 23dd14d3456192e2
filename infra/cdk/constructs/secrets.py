"""Secrets: the tenants' PowerOffice client keys and ABAX API clients (created at runtime under our KMS key)
and the platform's PowerOffice keys (created by the operator, referenced by name so they never appear in the
template). ABAX has no platform secret: ABAX issues every customer organisation its own API client."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.cdk.constructs.nag import acknowledge

# The stack every deploy made before stages had names of their own: its secrets keep the names they have.
DEFAULT_STACK_NAME = "AbaxPayroll"


def stage_secret_names(stack_name: str) -> dict[str, str]:
    """The secrets' names of one stage (one stack): its tenants' prefixes and its platform secret.

    A second stack in the same account and region (a staging copy) gets `abax-payroll-<stack name>/...`, so its
    IAM patterns (`prefix*`) match none of another stage's secrets: `abax-payroll/` and `abax-payroll-X/` never
    share a prefix, and a stack name holds no `/`. The default stack keeps `abax-payroll/...`, the names its
    companies' secrets already have.
    """
    root = "abax-payroll" if stack_name == DEFAULT_STACK_NAME else f"abax-payroll-{stack_name}"
    return {
        "client_key_secret_prefix": f"{root}/client-keys/",
        "abax_client_secret_prefix": f"{root}/abax-clients/",
        "poweroffice_keys_secret_name": f"{root}/poweroffice-keys",
    }


class Secrets(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        client_key_secret_prefix: str,
        poweroffice_keys_secret_name: str,
        abax_client_secret_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if not client_key_secret_prefix.endswith("/") or not abax_client_secret_prefix.endswith("/"):
            raise ValueError("client_key_secret_prefix and abax_client_secret_prefix must end with '/'")
        if abax_client_secret_prefix.startswith(
            client_key_secret_prefix
        ) or client_key_secret_prefix.startswith(abax_client_secret_prefix):
            # Rollback reads client keys only: a prefix inside the other would let it read ABAX clients too.
            raise ValueError(
                "client_key_secret_prefix and abax_client_secret_prefix must not contain each other"
            )
        self.abax_client_secret_prefix = abax_client_secret_prefix
        self.client_key_secret_prefix = client_key_secret_prefix
        self.client_keys_key = kms.Key(
            self,
            "ClientKeysKey",
            description="abax-payroll: tenants' PowerOffice Go client keys and ABAX API clients in Secrets Manager",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
        )
        # The tenant id is appended at runtime; Secrets Manager adds a random 6-character suffix.
        # Pseudo-parameters, not stack.region/account: the ARN (and the cdk-nag finding id that names it) stays
        # the same whether or not the stack is bound to an account and region.
        self.client_keys_arn_pattern = f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:{client_key_secret_prefix}*"
        self.poweroffice_keys = secretsmanager.Secret.from_secret_name_v2(
            self, "PowerOfficeKeys", poweroffice_keys_secret_name
        )
        self.abax_clients_arn_pattern = f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:{abax_client_secret_prefix}*"

    def _acknowledge_client_key_wildcard(self, role: iam.IRole) -> None:
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:"
            f"secret:{self.client_key_secret_prefix}*]",
            reason="One client-key secret per tenant, created at runtime by activate (name = prefix + tenant id, "
            "plus Secrets Manager's random suffix): the prefix is the narrowest ARN that exists at deploy time.",
        )

    def _via_secrets_manager(self) -> dict[str, dict[str, str]]:
        return {"StringEquals": {"kms:ViaService": f"secretsmanager.{Stack.of(self).region}.amazonaws.com"}}

    def _client_keys_environment(self, function: lambda_.Function) -> None:
        function.add_environment("CLIENT_KEY_SECRET_PREFIX", self.client_key_secret_prefix)
        function.add_environment("SECRETS_KMS_KEY_ID", self.client_keys_key.key_arn)

    def grant_manage_client_keys(self, function: lambda_.Function) -> None:
        """Create, replace and delete client-key secrets (activate/deactivate), always under our key."""
        role = role_of(function)
        self._acknowledge_client_key_wildcard(role)
        self._client_keys_environment(function)
        self._grant_manage_secrets(role, "ClientKey", self.client_keys_arn_pattern)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ClientKeysKeyEncrypt",
                # Secrets Manager encrypts a new value with GenerateDataKey (never Encrypt) on the caller's behalf.
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[self.client_keys_key.key_arn],
                conditions=self._via_secrets_manager(),
            )
        )

    def grant_read_client_keys(self, function: lambda_.Function) -> None:
        role = role_of(function)
        self._acknowledge_client_key_wildcard(role)
        self._client_keys_environment(function)
        self._grant_read_secrets(role, "ClientKey", self.client_keys_arn_pattern)

    def grant_read_poweroffice_keys(self, function: lambda_.Function) -> None:
        """The platform's PowerOffice Go application and subscription keys: the grant and the ARN together.

        GetSecretValue only (grant_read adds DescribeSecret, which no code path calls); `-??????` is Secrets
        Manager's random suffix of a secret referenced by name. Its key is aws/secretsmanager: no KMS grant."""
        role_of(function).add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadPowerOfficeKeys",
                actions=["secretsmanager:GetSecretValue"],
                # Secrets Manager appends a random 6-character suffix to the name it was created with.
                resources=[f"{self.poweroffice_keys.secret_arn}-??????"],
            )
        )
        function.add_environment("POWEROFFICE_KEYS_SECRET_ARN", self.poweroffice_keys.secret_arn)

    def _acknowledge_abax_clients_wildcard(self, role: iam.IRole) -> None:
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:"
            f"secret:{self.abax_client_secret_prefix}*]",
            reason="One ABAX API-client secret per tenant, created at runtime when its admin connects ABAX (name = "
            "prefix + tenant id, plus Secrets Manager's random suffix): the prefix is the narrowest ARN at deploy time.",
        )

    def grant_manage_abax_clients(self, function: lambda_.Function) -> None:
        """Create, replace and delete the tenants' ABAX API-client secrets (connect/disconnect ABAX)."""
        role = role_of(function)
        self._acknowledge_abax_clients_wildcard(role)
        function.add_environment("ABAX_CLIENT_SECRET_PREFIX", self.abax_client_secret_prefix)
        function.add_environment("SECRETS_KMS_KEY_ID", self.client_keys_key.key_arn)
        self._grant_manage_secrets(role, "AbaxClient", self.abax_clients_arn_pattern)

    def grant_read_abax_clients(self, function: lambda_.Function) -> None:
        """Read the tenants' ABAX API clients (whatever reads trips): no platform ABAX secret exists."""
        role = role_of(function)
        self._acknowledge_abax_clients_wildcard(role)
        function.add_environment("ABAX_CLIENT_SECRET_PREFIX", self.abax_client_secret_prefix)
        self._grant_read_secrets(role, "AbaxClient", self.abax_clients_arn_pattern)

    def _grant_manage_secrets(self, role: iam.IRole, noun: str, arn_pattern: str) -> None:
        """Create (only under our key), replace, read back and delete the per-tenant secrets of one kind: what
        store/secrets.py calls (no Describe, no tags: the code makes neither call)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=f"Create{noun}Secret",
                actions=["secretsmanager:CreateSecret"],
                resources=[arn_pattern],
                conditions={"StringEquals": {"secretsmanager:KmsKeyId": self.client_keys_key.key_arn}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=f"Manage{noun}Secrets",
                actions=[
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:DeleteSecret",
                    "secretsmanager:GetSecretValue",
                    # Activation right after switching off: a secret still scheduled for deletion is restored.
                    "secretsmanager:RestoreSecret",
                ],
                resources=[arn_pattern],
            )
        )

    def _grant_read_secrets(self, role: iam.IRole, noun: str, arn_pattern: str) -> None:
        """Read the per-tenant secrets of one kind, decrypting through Secrets Manager only."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=f"Read{noun}Secrets", actions=["secretsmanager:GetSecretValue"], resources=[arn_pattern]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=f"{noun}sKeyDecrypt",
                actions=["kms:Decrypt"],
                resources=[self.client_keys_key.key_arn],
                conditions=self._via_secrets_manager(),
            )
        )


def role_of(function: lambda_.Function) -> iam.IRole:
    assert function.role is not None, "every function here has its own role"
    return function.role
