"""The scheduled starts queue: the daily schedule sends one message per due tenant; each is started on its own."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import boto3

BATCH = 10  # SendMessageBatch takes at most 10 entries


class ScheduledStarts(Protocol):
    def send(self, starts: Sequence[Mapping[str, Any]]) -> None:
        """Queue one start per entry; raises when any could not be queued."""
        ...


class SqsScheduledStarts:
    def __init__(self, queue_url: str | None, client: Any = None):
        self.queue_url = queue_url or ""
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("sqs")
        return self._client

    def send(self, starts: Sequence[Mapping[str, Any]]) -> None:
        if starts and not self.queue_url:
            raise RuntimeError("SCHEDULED_STARTS_QUEUE_URL is not set for this function")
        for first in range(0, len(starts), BATCH):
            entries = {str(i): json.dumps(start) for i, start in enumerate(starts[first : first + BATCH])}
            for _ in range(3):  # SendMessageBatch may refuse single entries (throttling): send those again
                answer = self.client.send_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": key, "MessageBody": body} for key, body in entries.items()],
                )
                entries = {failed["Id"]: entries[failed["Id"]] for failed in answer.get("Failed", [])}
                if not entries:
                    break
            else:
                raise RuntimeError(f"{len(entries)} scheduled start(s) could not be queued")
