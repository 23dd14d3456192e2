"""Activation right after switching off (issue 21, finding 4): the vault writes a tenant's secret while
Secrets Manager still deletes the old one, as AWS documents it.

moto deletes a force-deleted secret at once and lets PutSecretValue write to a secret marked for deletion (it
stays deleted: every read then fails); AWS deletes asynchronously and answers InvalidRequestException to
both writes until the secret is gone. The fake below answers as AWS does.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from abax_payroll.store.secrets import ClientKeyVault


def _error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class SecretsManagerAsDocumented:
    """One secret: `deleting` calls still see a force deletion in progress; `scheduled` a recovery window."""

    def __init__(self, deleting: int = 0, scheduled: bool = False):
        self.value: str | None = "old key" if deleting or scheduled else None
        self.deleting, self.scheduled = deleting, scheduled
        self.calls: list[str] = []

    def _tick(self) -> None:
        if self.deleting:
            self.deleting -= 1
            if not self.deleting:
                self.value = None

    def _marked(self) -> bool:
        return bool(self.deleting) or self.scheduled

    def put_secret_value(self, SecretId: str, SecretString: str) -> dict[str, Any]:
        self.calls.append("PutSecretValue")
        marked = self._marked()
        self._tick()
        if marked:
            raise _error(
                "InvalidRequestException",
                "You can't perform this operation on the secret because it was marked for deletion.",
                "PutSecretValue",
            )
        if self.value is None:
            raise _error(
                "ResourceNotFoundException",
                "Secrets Manager can't find the specified secret.",
                "PutSecretValue",
            )
        self.value = SecretString
        return {"ARN": f"arn:aws:secretsmanager:eu-north-1:1:secret:{SecretId}-abcdef", "VersionId": "v2"}

    def create_secret(self, Name: str, SecretString: str, **_: Any) -> dict[str, Any]:
        self.calls.append("CreateSecret")
        marked = self._marked()
        self._tick()
        if marked:
            raise _error(
                "InvalidRequestException",
                "You can't create this secret because a secret with this name is already scheduled for deletion.",
                "CreateSecret",
            )
        self.value = SecretString
        return {"ARN": f"arn:aws:secretsmanager:eu-north-1:1:secret:{Name}-ghijkl", "VersionId": "v1"}

    def restore_secret(self, SecretId: str) -> dict[str, Any]:
        self.calls.append("RestoreSecret")
        if self.scheduled:
            self.scheduled = False
            return {"ARN": f"arn:aws:secretsmanager:eu-north-1:1:secret:{SecretId}-abcdef", "Name": SecretId}
        self._tick()
        # A force deletion cannot be cancelled.
        raise _error("InvalidRequestException", "The secret is being deleted.", "RestoreSecret")


def _vault(client: SecretsManagerAsDocumented) -> ClientKeyVault:
    return ClientKeyVault(
        "abax-payroll/client-keys/", "arn:aws:kms:eu-north-1:1:key/k", client, sleep=lambda _: None
    )


def test_activation_while_the_switched_off_secret_is_still_being_deleted_stores_the_new_key() -> None:
    client = SecretsManagerAsDocumented(deleting=3)
    stored = _vault(client).put("acme", "new key")
    assert client.value == "new key"
    assert stored.version_id == "v1"  # created again once the old one was gone
    assert "CreateSecret" in client.calls


def test_a_secret_scheduled_for_deletion_is_restored_and_gets_the_new_key() -> None:
    client = SecretsManagerAsDocumented(scheduled=True)
    stored = _vault(client).put("acme", "new key")
    assert client.value == "new key" and stored.version_id == "v2"
    assert client.calls == ["PutSecretValue", "RestoreSecret", "PutSecretValue"]


def test_a_deletion_that_never_ends_fails_after_the_wait_instead_of_looping() -> None:
    client = SecretsManagerAsDocumented(deleting=10_000)
    vault = ClientKeyVault("p/", None, client, gone_wait_s=0.0, sleep=lambda _: None)
    with pytest.raises(ClientError) as refused:
        vault.put("acme", "new key")
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
