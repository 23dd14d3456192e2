"""Tenants' PowerOffice Go client keys in Secrets Manager (encrypted with the platform's KMS key)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError


class ClientKeyVault:
    def __init__(self, prefix: str, kms_key_id: str | None = None, client: Any | None = None):
        self._prefix = prefix
        self._kms_key_id = kms_key_id
        self._client = client or boto3.client("secretsmanager")

    def _name(self, tenant_id: str) -> str:
        return f"{self._prefix}{tenant_id}"

    def put(self, tenant_id: str, client_key: str) -> str:
        """Store (or replace) the tenant's client key; returns the secret's ARN."""
        name = self._name(tenant_id)
        try:
            return str(self._client.put_secret_value(SecretId=name, SecretString=client_key)["ARN"])
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        kwargs: dict[str, Any] = {
            "Name": name,
            "SecretString": client_key,
            "Description": "PowerOffice Go client key of one tenant (ABAX payroll export)",
        }
        if self._kms_key_id:
            kwargs["KmsKeyId"] = self._kms_key_id
        return str(self._client.create_secret(**kwargs)["ARN"])

    def get(self, tenant_id: str) -> str | None:
        try:
            return str(self._client.get_secret_value(SecretId=self._name(tenant_id))["SecretString"])
        except ClientError as error:
            if error.response["Error"]["Code"] in ("ResourceNotFoundException", "InvalidRequestException"):
                return None
            raise

    def delete(self, tenant_id: str) -> None:
        """Switching off forgets the key at once (no recovery window)."""
        try:
            self._client.delete_secret(SecretId=self._name(tenant_id), ForceDeleteWithoutRecovery=True)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
