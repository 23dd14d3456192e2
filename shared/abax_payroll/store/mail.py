"""E-mail to a company's admins through Amazon SES (the verified sender identity the deployment names)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import boto3


class Mailer(Protocol):
    def send(self, to: Sequence[str], subject: str, body: str) -> None:
        """Send one plain-text e-mail to these addresses."""
        ...


class SesMailer:
    def __init__(self, sender: str | None, client: Any = None):
        self.sender = sender or ""
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("ses")
        return self._client

    def send(self, to: Sequence[str], subject: str, body: str) -> None:
        if not self.sender:
            raise RuntimeError("NOTIFICATION_SENDER is not set for this function")
        self.client.send_email(
            Source=self.sender,
            Destination={"ToAddresses": list(to)},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
            },
        )
