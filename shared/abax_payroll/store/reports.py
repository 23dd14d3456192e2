"""The documentation report of an export (skattebetalingsforskriften § 5-6-12): its rows in parts, one gzipped
JSON object each, `reports/<tenant>/<export>.report.<n>.json.gz` (`domain.documentation.report_parts`: a few
thousand rows each, so the API answers one part within Lambda's 6 MB and memory), kept for years (no expiry,
unlike `snapshots/`); the export record says how many (`report_parts`).

Group writes them once (a retried Group writes the same objects again); the API reads one at a time. Older
exports kept all rows in one object (`reports/<tenant>/<export>.json.gz`, its key on the record) or in DynamoDB
items (`REPORT#<export>#<n>`, `LineStore.get_report`): each is read as a report of one part.

Beside it, `reports/<tenant>/<export>.problems.json.gz`: an export's validation problems or warnings in full,
when they outgrow the summary its record keeps (5,000 drivers without an employee number; a warning on each
of 23,000 lines), kept as long as the report; and `reports/<tenant>/<export>.<list>.json.gz`, the salary lines a
rollback left in PowerOffice Go when they are more than the record keeps.
"""

from __future__ import annotations

import contextvars
import gzip
import json
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

REPORT_PREFIX = "reports/"
PUT_WORKERS = 8  # report parts written at once (each thread its own S3 client)


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

    @staticmethod
    def problems_key(tenant_id: str, export_id: str) -> str:
        return f"{REPORT_PREFIX}{tenant_id}/{export_id}.problems.json.gz"

    @staticmethod
    def part_key(tenant_id: str, export_id: str, part: int) -> str:
        return f"{REPORT_PREFIX}{tenant_id}/{export_id}.report.{part}.json.gz"

    def put(self, tenant_id: str, export_id: str, rows: Sequence[Mapping[str, Any]]) -> str:
        """Write the report's rows as one object (as older exports kept it); returns the object's key."""
        return self._put(self.key(tenant_id, export_id), list(rows))

    def put_parts(self, tenant_id: str, export_id: str, parts: Sequence[Mapping[str, Any]]) -> int:
        """Write the report's parts (`report_parts`: rows, carry, continued), a few at once (5,000 drivers are
        some 80 parts); returns how many. Any failed write fails the whole (Group is retried and writes all)."""
        keys = [self.part_key(tenant_id, export_id, index) for index in range(len(parts))]
        if len(parts) == 1:
            self._put(keys[0], dict(parts[0]))
        else:
            with ThreadPoolExecutor(max_workers=PUT_WORKERS) as pool:  # each write in a copy of this context
                writes = [
                    pool.submit(contextvars.copy_context().run, self._put, key, dict(part))
                    for key, part in zip(keys, parts, strict=True)
                ]
                for write in writes:
                    write.result()
        return len(parts)

    def get_part(self, tenant_id: str, export_id: str, part: int) -> dict[str, Any]:
        """One part: its rows in order, `carry` and `continued` (see `report_parts`)."""
        return dict(self._get(self.part_key(tenant_id, export_id, part)))

    def get(self, key: str) -> list[dict[str, Any]]:
        """The report's rows in order (the key as the export record has it)."""
        return self._get(key)

    def put_problems(self, tenant_id: str, export_id: str, problems: Sequence[Mapping[str, Any]]) -> str:
        """Write an export's problems in full (every item of each); returns the object's key."""
        return self._put(self.problems_key(tenant_id, export_id), list(problems))

    def get_problems(self, key: str) -> list[dict[str, Any]]:
        """An export's problems in full (the key as the export record has it)."""
        return self._get(key)

    def put_list(
        self, tenant_id: str, export_id: str, name: str, entries: Sequence[Mapping[str, Any]]
    ) -> str:
        """Write a list an export record keeps only the beginning of (`name`: what it is, e.g. left-behind)."""
        return self._put(f"{REPORT_PREFIX}{tenant_id}/{export_id}.{name}.json.gz", list(entries))

    def get_list(self, key: str) -> list[dict[str, Any]]:
        return self._get(key)

    def _put(self, key: str, value: list[Any] | dict[str, Any]) -> str:
        body = gzip.compress(
            json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode(),
            compresslevel=6,
        )
        self._s3.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", ContentEncoding="gzip"
        )
        return key

    def _get(self, key: str) -> Any:
        if not key.startswith(REPORT_PREFIX):
            raise ValueError(f"not a report key: {key}")
        body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        value = json.loads(gzip.decompress(body))
        return value if isinstance(value, dict) else list(value)
