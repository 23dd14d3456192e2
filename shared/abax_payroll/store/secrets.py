"""Tenants' own credentials in Secrets Manager (encrypted with the platform's KMS key), one secret per tenant.

Every write is a new secret version, and its VersionId is returned: an export records the version it was
started with, so its push and its rollback use the very credentials its lines were created with even if the
admin has activated another key since (reading an older version needs no other permission than the current).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

_GONE = ("ResourceNotFoundException", "InvalidRequestException")


@dataclass(frozen=True)
class StoredSecret:
    arn: str
    version_id: str


class ClientKeyVault:
    """One secret per tenant under `prefix` (PowerOffice Go client keys, or ABAX API clients as JSON)."""

    def __init__(
        self,
        prefix: str,
        kms_key_id: str | None = None,
        client: Any | None = None,
        description: str = "PowerOffice Go client key of one tenant (ABAX payroll export)",
    ):
        self._prefix = prefix
        self._kms_key_id = kms_key_id
        self._client = client or boto3.client("secretsmanager")
        self._description = description

    def _name(self, tenant_id: str) -> str:
        return f"{self._prefix}{tenant_id}"

    def put(self, tenant_id: str, value: str) -> StoredSecret:
        """Store (or replace) the tenant's secret as a new version; its ARN and VersionId."""
        name = self._name(tenant_id)
        try:
            answer = self._client.put_secret_value(SecretId=name, SecretString=value)
            return StoredSecret(str(answer["ARN"]), str(answer["VersionId"]))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        kwargs: dict[str, Any] = {"Name": name, "SecretString": value, "Description": self._description}
        if self._kms_key_id:
            kwargs["KmsKeyId"] = self._kms_key_id
        answer = self._client.create_secret(**kwargs)
        return StoredSecret(str(answer["ARN"]), str(answer["VersionId"]))

    def get(self, tenant_id: str, version_id: str | None = None) -> str | None:
        """The current secret, or the given version of it; None when it (or that version) no longer exists."""
        kwargs: dict[str, Any] = {"SecretId": self._name(tenant_id)}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            return str(self._client.get_secret_value(**kwargs)["SecretString"])
        except ClientError as error:
            if error.response["Error"]["Code"] in _GONE:
                return None
            raise

    def delete(self, tenant_id: str) -> None:
        """Switching off forgets the secret at once (no recovery window)."""
        try:
            self._client.delete_secret(SecretId=self._name(tenant_id), ForceDeleteWithoutRecovery=True)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
