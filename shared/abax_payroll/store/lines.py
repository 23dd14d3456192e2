"""An export's planned salary lines (in chunks) and the PowerOffice Go ids of the lines created."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from boto3.dynamodb.conditions import Key

from ..records import CreatedIds, PlannedLine
from .table import Table, pack, tenant_pk, unpack

CREATED_IDS = "ids_"  # attribute-name prefix of a chunk's recorded ids


def _chunk(export_id: str, index: int) -> str:
    return f"LINES#{export_id}#{index:05d}"


def _chunks(export_id: str) -> str:
    return f"LINES#{export_id}#"


def _pushed(export_id: str, chunk: int) -> str:
    return f"PUSHED#{export_id}#{chunk:05d}"


def _pushed_all(export_id: str) -> str:
    return f"PUSHED#{export_id}#"


def _reports(export_id: str) -> str:
    """Older exports' report rows (read only: reports are S3 objects now, see ReportStore)."""
    return f"REPORT#{export_id}#"


def _lines(item: Mapping[str, Any]) -> list[PlannedLine]:
    """A chunk item's lines: by column (`cols`, written now) or as a list of lines (`data`, older exports)."""
    if "cols" in item:
        columns: dict[str, list[Any]] = unpack(item["cols"])
        count = len(next(iter(columns.values()), []))
        rows = [
            {name: values[at] for name, values in columns.items() if values[at] is not None}
            for at in range(count)
        ]
        return [PlannedLine.model_validate(row) for row in rows]
    return [PlannedLine.model_validate(line) for line in unpack(item["data"])]


def _columns(lines: Sequence[PlannedLine]) -> dict[str, list[Any]]:
    """Lines by column: like values side by side compress about a quarter better than line by line, and write
    units are charged per KB (100 lines: 3 units instead of 4)."""
    rows = [line.stored() for line in lines]
    names = sorted({name for row in rows for name in row})
    return {name: [row.get(name) for row in rows] for name in names}


class LineStore:
    def __init__(self, table: Table):
        self.table = table

    def put_line_chunks(
        self, tenant_id: str, export_id: str, chunks: Sequence[Sequence[PlannedLine]]
    ) -> None:
        with self.table.resource.batch_writer() as batch:
            for index, chunk in enumerate(chunks):
                batch.put_item(
                    Item={
                        "pk": tenant_pk(tenant_id),
                        "sk": _chunk(export_id, index),
                        "cols": pack(_columns(chunk), level=9),
                    }
                )

    def get_line_chunk(self, tenant_id: str, export_id: str, index: int) -> list[PlannedLine]:
        item = self.table.get(tenant_pk(tenant_id), _chunk(export_id, index), consistent=True)
        if item is None:
            raise LookupError(f"chunk {index} of export {export_id} is missing")
        return _lines(item)

    def get_lines(self, tenant_id: str, export_id: str) -> list[PlannedLine]:
        """Every planned line of an export, with the PowerOffice id of those created."""
        lines: list[PlannedLine] = []
        for item in self.table.query_prefix(tenant_pk(tenant_id), _chunks(export_id)):
            lines += _lines(item)
        created = self.get_created(tenant_id, export_id)
        for line in lines:
            line.salary_line_id = created.get(line.index)
        return lines

    def get_lines_page(self, tenant_id: str, export_id: str, offset: int, limit: int) -> list[PlannedLine]:
        """The planned lines from index `offset` on (at most `limit`), reading only the chunks that hold them."""
        first = self.table.get(tenant_pk(tenant_id), _chunk(export_id, 0), consistent=True)
        if first is None or limit <= 0:
            return []
        size = len(_lines(first)) or 1  # every chunk but the last has the first's size
        chunks = self.table.query(
            KeyConditionExpression=Key("pk").eq(tenant_pk(tenant_id))
            & Key("sk").between(
                _chunk(export_id, offset // size), _chunk(export_id, (offset + limit - 1) // size)
            ),
            ConsistentRead=True,
        )
        lines = [line for item in chunks for line in _lines(item) if offset <= line.index < offset + limit]
        created = self.get_created(tenant_id, export_id)
        for line in lines:
            line.salary_line_id = created.get(line.index)
        return sorted(lines, key=lambda line: line.index)

    def get_report(self, tenant_id: str, export_id: str) -> list[dict[str, Any]] | None:
        """The report rows of an export from before reports moved to S3 (`REPORT#` items), or None.

        Read-only: new reports are S3 objects (see ReportStore); these items are never written any more."""
        items = self.table.query_prefix(tenant_pk(tenant_id), _reports(export_id))
        rows: list[dict[str, Any]] = []
        found = False
        for item in items:
            found = True
            rows += unpack(item["data"])
        return rows if found else None

    # A chunk's created ids are one map attribute per write ("ids_<time>": {line index: salary-line id}), so
    # a retried chunk adds its own map beside the first attempt's instead of overwriting it, and each write is
    # a single SET clause (cheap to evaluate, in DynamoDB and in moto alike).
    def record_created(
        self,
        tenant_id: str,
        export_id: str,
        chunk: int,
        created: Mapping[int, int],
        fence: Mapping[str, Any] | None = None,
    ) -> None:
        """Record created salary-line ids (a batch of them, one small write) as they are created; with `fence`
        (ExportStore.fence) only while the writing run is the export's live run (else RunSuperseded)."""
        if not created:
            return
        key = {"pk": tenant_pk(tenant_id), "sk": _pushed(export_id, chunk)}
        names = {"#ids": f"{CREATED_IDS}{time.time_ns()}"}
        values = {":ids": {str(index): int(salary_line_id) for index, salary_line_id in created.items()}}
        if fence is not None:
            self.table.fenced_update(fence, key, "SET #ids = :ids", names, values)
            return
        self.table.resource.update_item(
            Key=key,
            UpdateExpression="SET #ids = :ids",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def forget_created(self, tenant_id: str, export_id: str, deleted: Iterable[int]) -> None:
        """After a rollback: drop the deleted ids so the record never claims a line Go no longer has."""
        gone = set(deleted)
        for item in self.table.query_prefix(tenant_pk(tenant_id), _pushed_all(export_id)):
            sets: list[str] = []
            removes: list[str] = []
            names: dict[str, str] = {}
            values: dict[str, Any] = {}
            for name, ids in item.items():
                if not name.startswith(CREATED_IDS):
                    continue
                kept = {index: value for index, value in ids.items() if int(value) not in gone}
                if len(kept) == len(ids):
                    continue
                placeholder = f"#a{len(names)}"
                names[placeholder] = name
                if kept:
                    values[f":v{len(values)}"] = kept
                    sets.append(f"{placeholder} = :v{len(values) - 1}")
                else:
                    removes.append(placeholder)
            if not names:
                continue
            expression = " ".join(
                part
                for part in (
                    "SET " + ", ".join(sets) if sets else "",
                    "REMOVE " + ", ".join(removes) if removes else "",
                )
                if part
            )
            self.table.resource.update_item(
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                **({"ExpressionAttributeValues": values} if values else {}),
            )

    def get_created(self, tenant_id: str, export_id: str) -> CreatedIds:
        """Line index -> PowerOffice salary-line id."""
        created: CreatedIds = {}
        for item in self.table.query_prefix(tenant_pk(tenant_id), _pushed_all(export_id)):
            for name in sorted(item):  # oldest write first
                if name.startswith(CREATED_IDS):
                    created.update({int(index): int(value) for index, value in item[name].items()})
        return created
