"""The documentation report of an export (skattebetalingsforskriften § 5-6-12): its rows as one gzipped JSON
object in S3, `reports/<tenant>/<export>.json.gz`, kept for years (no expiry, unlike `snapshots/`).

Group writes it once (a retried Group writes the same object again); the API reads it. Older exports kept the
rows in DynamoDB items (`REPORT#<export>#<n>`); `LineStore.get_report` still reads those.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import boto3

REPORT_PREFIX = "reports/"


class ReportStore:
    def __init__(self, bucket: str):
        self.bucket = bucket
        self._per_thread = threading.local()

    @property
    def _s3(self) -> Any:
        client = getattr(self._per_thread, "s3", None)
        if client is None:
            if not self.bucket:
                raise RuntimeError("SNAPSHOT_BUCKET is not set: nowhere to keep the documentation report")
            client = self._per_thread.s3 = boto3.client("s3")
        return client

    @staticmethod
    def key(tenant_id: str, export_id: str) -> str:
        return f"{REPORT_PREFIX}{tenant_id}/{export_id}.json.gz"

    def put(self, tenant_id: str, export_id: str, rows: Sequence[Mapping[str, Any]]) -> str:
        """Write the report's rows (one per trip and category); returns the object's key."""
        key = self.key(tenant_id, export_id)
        body = gzip.compress(
            json.dumps(list(rows), separators=(",", ":"), ensure_ascii=False).encode(), compresslevel=6
        )
        self._s3.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", ContentEncoding="gzip"
        )
        return key

    def get(self, key: str) -> list[dict[str, Any]]:
        """The report's rows in order (the key as the export record has it)."""
        if not key.startswith(REPORT_PREFIX):
            raise ValueError(f"not a report key: {key}")
        body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return list(json.loads(gzip.decompress(body)))
