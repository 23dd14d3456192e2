"""Tenants' own credentials in Secrets Manager (encrypted with the platform's KMS key), one secret per tenant.

Every write is a new secret version, and its VersionId is returned: an export records the version it was
started with, so its push and its rollback use the very credentials its lines were created with even if the
admin has activated another key since (reading an older version needs no other permission than the current).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

_GONE = ("ResourceNotFoundException", "InvalidRequestException")
# How long activation waits for a force-deleted secret to be gone (within API Gateway's 29 s).
_GONE_WAIT_S = 15.0


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
        gone_wait_s: float = _GONE_WAIT_S,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._prefix = prefix
        self._kms_key_id = kms_key_id
        self._client = client or boto3.client("secretsmanager")
        self._description = description
        self._gone_wait_s, self._sleep = gone_wait_s, sleep

    def _name(self, tenant_id: str) -> str:
        return f"{self._prefix}{tenant_id}"

    def put(self, tenant_id: str, value: str) -> StoredSecret:
        """Store (or replace) the tenant's secret as a new version; its ARN and VersionId.

        A secret switched off a moment ago may still be on its way out: `delete` force-deletes, and Secrets
        Manager deletes asynchronously, answering InvalidRequestException ("marked for deletion", "already
        scheduled for deletion") until it is gone. One scheduled for deletion with a recovery window is
        restored and written; one being force-deleted is created again once it is gone (AWS: "use appropriate
        back off and retry logic"), within `_GONE_WAIT_S`.
        """
        name = self._name(tenant_id)
        deadline = time.monotonic() + self._gone_wait_s
        delay, restored = 0.2, False
        while True:
            try:
                return self._put_or_create(name, value)
            except ClientError as error:
                if error.response["Error"]["Code"] != "InvalidRequestException":
                    raise
                if not restored and self._restore(name):
                    restored = True
                    continue
                if time.monotonic() + delay > deadline:
                    raise
            self._sleep(delay)
            delay = min(delay * 2, 2.0)

    def _put_or_create(self, name: str, value: str) -> StoredSecret:
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

    def _restore(self, name: str) -> bool:
        """Cancel a scheduled deletion; False when there is none to cancel (it is being force-deleted)."""
        try:
            self._client.restore_secret(SecretId=name)
        except ClientError as error:
            if error.response["Error"]["Code"] in _GONE:
                return False
            raise
        return True

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
