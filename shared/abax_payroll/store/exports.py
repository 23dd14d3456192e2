"""Export records, the tenant's export lock, and an export's small working data."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel

from ..errors import ExportInProgress, InvalidRequest, RunSuperseded
from ..records import ExportError, ExportPhase, ExportRecord, ExportStatus, Record
from .table import TRANSACTION_WRITES, Table, now_iso, pack, plain, strip_keys, tenant_pk, unpack

# A lock whose export record was never written (the claim died between its two writes) holds this long.
ORPHAN_LOCK_SECONDS = 60
# A preview's totals item holding the same figures is written again only after this long (its age counts).
PREVIEW_TOTALS_REFRESH_S = 300
LOCK = "LOCK#EXPORT"
EXPORT = "EXPORT#"
# The index partition of the tenants' locks taken since the reconciliation sweep last looked (a sparse index:
# the sweep takes a lock out of it once its export has ended), so it finds RUNNING exports without a Scan.
LOCKS_TO_RECONCILE = "RECONCILE#LOCKS"


def _export(export_id: str) -> str:
    return f"{EXPORT}{export_id}"


def _progress(export_id: str) -> str:
    return f"PROGRESS#{export_id}"


def _lookups(export_id: str) -> str:
    return f"LOOKUPS#{export_id}"


def _preview_totals(period_key: str) -> str:
    return f"PREVIEW#{period_key}"


def _attribute(value: Any) -> Any:
    if isinstance(value, Record):
        return value.stored()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, Enum):
        return value.value
    return value


def _entry(history: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One history entry as DynamoDB takes it (a list of one map, for list_append)."""
    return [json.loads(json.dumps({"at": now_iso(), **history}, default=_attribute), parse_float=Decimal)]


class ExportStore:
    def __init__(self, table: Table):
        self.table = table
        # Told of every export that reached a terminal status (tenant, export, status), after the write: the
        # company's e-mail about a scheduled export (workflow/notifications.py). One that fails is logged only.
        self.finished_hooks: list[Callable[[str, str, ExportStatus], None]] = []

    # One running export per tenant: the tenant's lock item names the export that holds it, and it holds it
    # while that export's record says RUNNING. Finishing an export is then one write (its record), and the
    # next claim takes the stale lock over with a write conditioned on the old holder: two claims can never
    # both win, and neither start nor finish pays for a transaction.
    def _write_lock(self, pk: str, export_id: str, held: dict[str, Any] | None) -> Any:
        """Name this export in the tenant's lock: a free lock, or one still held by the stale `held` (None when
        another claim moved first)."""
        return self.table.conditional(
            self.table.resource.put_item,
            Item={
                "pk": pk,
                "sk": LOCK,
                "export_id": export_id,
                "created_at": now_iso(),
                "claimed_at": Decimal(str(round(time.time(), 3))),
                "gsi1pk": LOCKS_TO_RECONCILE,
                "gsi1sk": pk,
            },
            ConditionExpression="attribute_not_exists(pk)" if held is None else "export_id = :stale",
            **({} if held is None else {"ExpressionAttributeValues": {":stale": held["export_id"]}}),
        )

    def claim_export(self, record: ExportRecord) -> None:
        """Take the tenant's lock for this export, then write its record."""
        tenant_id, export_id = record.tenant_id, record.export_id
        pk = tenant_pk(tenant_id)
        for _ in range(5):
            held = self.table.get(pk, LOCK, consistent=True)
            if held is not None and self._lock_live(tenant_id, held):
                raise ExportInProgress(
                    f"export {held['export_id']} is still running for this company; wait until it ends",
                    params={"export_id": held["export_id"]},
                )
            taken = self._write_lock(pk, export_id, held)
            if taken is not None:
                break
            # Another claim moved first: look at the lock again.
        else:
            raise ExportInProgress("another export is starting for this company; wait until it ends")
        try:
            self.table.resource.put_item(
                Item={"pk": pk, "sk": _export(export_id), **record.stored()},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except Exception:
            self.table.resource.delete_item(
                Key={"pk": pk, "sk": LOCK},
                ConditionExpression="export_id = :me",
                ExpressionAttributeValues={":me": export_id},
            )
            raise
        held = self.table.get(pk, LOCK, consistent=True)
        if held is None or held["export_id"] != export_id:
            # Only if this claim stalled longer than ORPHAN_LOCK_SECONDS between its two writes.
            self.finish_export(
                tenant_id,
                export_id,
                ExportStatus.FAILED,
                {"error": ExportError(code="EXPORT_IN_PROGRESS", message="another export took over")},
            )
            raise ExportInProgress("another export started for this company meanwhile; wait until it ends")

    def _lock_live(self, tenant_id: str, held: Mapping[str, Any]) -> bool:
        """A lock holds while its export runs; one whose record was never written holds for a while only."""
        record = self.table.get(
            tenant_pk(tenant_id),
            _export(held["export_id"]),
            consistent=True,
            ProjectionExpression="#s",
            ExpressionAttributeNames={"#s": "status"},
        )
        if record is not None:
            return ExportStatus(record["status"]) is ExportStatus.RUNNING
        return time.time() - float(held.get("claimed_at", 0)) < ORPHAN_LOCK_SECONDS

    def running_export(self, tenant_id: str) -> str | None:
        """The export that holds the tenant's lock while it runs (what a key change must wait for), if any."""
        held = self.table.get(tenant_pk(tenant_id), LOCK, consistent=True)
        return str(held["export_id"]) if held is not None and self._lock_live(tenant_id, held) else None

    def locks_to_reconcile(self) -> list[dict[str, Any]]:
        """The tenants' locks taken since the sweep last saw their export ended: tenant_id, export_id and
        claimed_at (epoch seconds) of each."""
        items = self.table.query(
            IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(LOCKS_TO_RECONCILE)
        )
        return [
            {
                "tenant_id": str(item["gsi1sk"]).removeprefix(tenant_pk("")),
                "export_id": str(item["export_id"]),
                "claimed_at": float(item.get("claimed_at", 0)),
            }
            for item in items
        ]

    def reconciled(self, tenant_id: str, export_id: str) -> None:
        """Take the lock out of the sweep's index (its export has ended), unless another export took it."""
        self.table.conditional(
            self.table.resource.update_item,
            Key={"pk": tenant_pk(tenant_id), "sk": LOCK},
            UpdateExpression="REMOVE gsi1pk, gsi1sk",
            ConditionExpression="export_id = :id",
            ExpressionAttributeValues={":id": export_id},
        )

    def put_failed_start(self, record: ExportRecord) -> bool:
        """Record an export that failed before it started (no lock taken); False when its record exists."""
        assert record.status is ExportStatus.FAILED
        written = self.table.conditional(
            self.table.resource.put_item,
            Item={"pk": tenant_pk(record.tenant_id), "sk": _export(record.export_id), **record.stored()},
            ConditionExpression="attribute_not_exists(pk)",
        )
        return written is not None

    def get_export(self, tenant_id: str, export_id: str, consistent: bool = False) -> ExportRecord | None:
        item = self.table.get(tenant_pk(tenant_id), _export(export_id), consistent=consistent)
        return ExportRecord.model_validate(plain(strip_keys(item))) if item else None

    def list_exports(
        self, tenant_id: str, limit: int, next_token: str | None
    ) -> tuple[list[ExportRecord], str | None]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(tenant_pk(tenant_id)) & Key("sk").begins_with(EXPORT),
            "ScanIndexForward": False,  # export ids sort by creation time: newest first
            "Limit": limit,
        }
        if next_token:
            kwargs["ExclusiveStartKey"] = _decode_token(next_token, tenant_id)
        page = self.table.resource.query(**kwargs)
        token = _encode_token(page["LastEvaluatedKey"]) if "LastEvaluatedKey" in page else None
        return [ExportRecord.model_validate(plain(strip_keys(item))) for item in page.get("Items", [])], token

    def fence(self, tenant_id: str, export_id: str, run: str) -> dict[str, Any]:
        """A TransactWriteItems ConditionCheck that holds while `run` (an execution ARN, `$$.Execution.Id`) is
        the export's current run and the export still runs: put it beside a write to another item (created
        ids, the ledger, progress) so that write lands only on behalf of the live run."""
        return {
            "ConditionCheck": {
                "TableName": self.table.name,
                "Key": {"pk": {"S": tenant_pk(tenant_id)}, "sk": {"S": _export(export_id)}},
                "ConditionExpression": "execution_arn = :run AND #s = :running",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {
                    ":run": {"S": run},
                    ":running": {"S": ExportStatus.RUNNING.value},
                },
            }
        }

    def run_fence(self, tenant_id: str, export_id: str, run: str | None) -> dict[str, Any] | None:
        """fence() for a run, or None for a caller outside any run (a test, a tool): its writes are not fenced."""
        return self.fence(tenant_id, export_id, run) if run is not None else None

    def ensure_current_run(self, tenant_id: str, export_id: str, run: str | None) -> None:
        """RunSuperseded unless `run` is still the export's current, running run (None: no run to check).

        For writes that cannot carry the fence (S3 objects, items nobody reads once the run moved on) and before
        a call to PowerOffice Go: a check, not a guarantee; the fenced write that follows is the guarantee."""
        if run is not None and not self.is_current_run(tenant_id, export_id, run):
            raise RunSuperseded(f"export {export_id} has moved on from the run {run.rsplit(':', 1)[-1]}")

    def is_current_run(self, tenant_id: str, export_id: str, run: str) -> bool:
        """Whether `run` is still the export's current, running run (a consistent read of those two attributes
        only: a rollback asks before every DELETE, and the record of a large export is large)."""
        item = self.table.get(
            tenant_pk(tenant_id),
            _export(export_id),
            consistent=True,
            ProjectionExpression="execution_arn, #s",
            ExpressionAttributeNames={"#s": "status"},
        )
        return (
            item is not None
            and item.get("execution_arn") == run
            and item.get("status") == ExportStatus.RUNNING.value
        )

    def update_export(
        self,
        tenant_id: str,
        export_id: str,
        fields: Mapping[str, Any],
        history: Mapping[str, Any] | None = None,
        run: str | None = None,
        also: Sequence[dict[str, Any]] = (),
        nobody_deleting: bool = False,
    ) -> None:
        """Set fields of the record; `history` appends an entry to its history in the same write.

        With `run` (the writing execution's ARN) the write is fenced: it lands only while that run is the
        export's current one and the export still runs, else RunSuperseded (nothing written). `also`: writes to
        other items (TransactWriteItems actions) that land with this one, or not at all (past a transaction's
        size, the first of them land before it, each group fenced). `nobody_deleting`: it lands only while no
        rollback may be deleting lines in Go (no `deleting_until` ahead), else RunSuperseded too."""
        names, values, sets = {}, {}, []
        for index, (name, value) in enumerate({**fields, "updated_at": now_iso()}.items()):
            names[f"#f{index}"] = name
            values[f":v{index}"] = _attribute(value)
            sets.append(f"#f{index} = :v{index}")
        if history is not None:
            names["#history"] = "history"
            values[":entry"] = _entry(history)
            values[":none"] = []
            sets.append("#history = list_append(if_not_exists(#history, :none), :entry)")
        condition = "attribute_exists(pk)"
        if run is not None:
            names["#status"] = "status"
            values[":run"] = run
            values[":running"] = ExportStatus.RUNNING.value
            condition = "execution_arn = :run AND #status = :running"
        if nobody_deleting:
            # A rollback writes `deleting_until` (fenced by its run) before its first DELETE: a write that lists
            # Go's lines and then lands under this condition knows no DELETE landed in between.
            names["#deleting"] = "deleting_until"
            values[":null"] = "NULL"
            values[":now"] = Decimal(int(time.time()))
            condition += (
                " AND (attribute_not_exists(#deleting) OR attribute_type(#deleting, :null)"
                " OR #deleting < :now)"
            )
        update = {
            "Key": {"pk": tenant_pk(tenant_id), "sk": _export(export_id)},
            "UpdateExpression": "SET " + ", ".join(sets),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ConditionExpression": condition,
        }
        if also:
            written = self._update_with(tenant_id, export_id, update, list(also), run)
        else:
            written = self.table.conditional(self.table.resource.update_item, **update)
        if written is None:
            if run is not None:
                raise RunSuperseded(f"export {export_id} has moved on from the run {run.rsplit(':', 1)[-1]}")
            raise LookupError(f"export {export_id} of tenant {tenant_id} has no record")

    def _update_with(
        self,
        tenant_id: str,
        export_id: str,
        update: dict[str, Any],
        also: list[dict[str, Any]],
        run: str | None,
    ) -> bool | None:
        """The record's update in one transaction with `also` (True), or None when its condition failed."""
        room = TRANSACTION_WRITES - 1
        if len(also) > room:
            first, also = also[:-room], also[-room:]
            if run is not None:
                self.table.write_fenced(self.fence(tenant_id, export_id, run), first)
            else:
                for start in range(0, len(first), TRANSACTION_WRITES):
                    self.table.client.transact_write_items(
                        TransactItems=first[start : start + TRANSACTION_WRITES]
                    )
        record = {
            **update,
            "TableName": self.table.name,
            "Key": self.table.low_level(update["Key"]),
            "ExpressionAttributeValues": self.table.low_level(update["ExpressionAttributeValues"]),
        }
        try:
            self.table.client.transact_write_items(TransactItems=[{"Update": record}, *also])
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return None
            raise
        return True

    def finish_export(
        self,
        tenant_id: str,
        export_id: str,
        status: ExportStatus,
        fields: Mapping[str, Any],
        history: Mapping[str, Any] | None = None,
        run: str | None = None,
        also: Sequence[dict[str, Any]] = (),
        nobody_deleting: bool = False,
    ) -> None:
        """Set a terminal status: one write, which also frees the tenant's lock (see claim_export); with `run`,
        fenced as update_export is; `also` and `nobody_deleting` as there."""
        assert status.terminal
        self.update_export(
            tenant_id,
            export_id,
            {**fields, "status": status, "finished_at": now_iso()},
            history,
            run,
            also,
            nobody_deleting,
        )
        for hook in self.finished_hooks:
            hook(tenant_id, export_id, status)

    # A recovery run (rollback again, resume) of a finished export marks its record RUNNING again (a write
    # conditioned on the status it starts from, so two clicks cannot start two runs) and then takes the
    # tenant's lock like a new export. Record first: a lock naming an export whose record is finished counts
    # as stale and could be taken over. If another export got the lock meanwhile, the record goes back.
    def claim_recovery(
        self,
        tenant_id: str,
        export_id: str,
        phase: ExportPhase,
        allowed: Iterable[ExportStatus],
        fields: Mapping[str, Any],
        history: Mapping[str, Any],
    ) -> ExportRecord | None:
        """Mark a finished export RUNNING again for a recovery run: the record as it was before, or None when
        its status is not one the run starts from (it changed meanwhile: the caller looks again)."""
        pk = tenant_pk(tenant_id)
        held = self.table.get(pk, LOCK, consistent=True)
        if held is not None and held["export_id"] != export_id and self._lock_live(tenant_id, held):
            raise ExportInProgress(
                f"export {held['export_id']} is still running for this company; wait until it ends"
            )
        starts_from = sorted(status.value for status in allowed)
        names = {"#s": "status", "#history": "history", "#from": "recovering_from"}
        values: dict[str, Any] = {
            ":running": ExportStatus.RUNNING.value,
            ":phase": phase.value,
            ":entry": _entry(history),
            ":none": [],
            ":now": now_iso(),
            **{f":ok{index}": status for index, status in enumerate(starts_from)},
        }
        sets = [
            "#s = :running",
            "phase = :phase",
            "#from = #s",
            "updated_at = :now",
            "#history = list_append(if_not_exists(#history, :none), :entry)",
        ]
        for index, (name, value) in enumerate(fields.items()):
            names[f"#f{index}"] = name
            values[f":f{index}"] = _attribute(value)
            sets.append(f"#f{index} = :f{index}")
        answer = self.table.conditional(
            self.table.resource.update_item,
            Key={"pk": pk, "sk": _export(export_id)},
            UpdateExpression="SET " + ", ".join(sets) + " REMOVE finished_at",
            ConditionExpression="#s IN (" + ", ".join(f":ok{i}" for i in range(len(starts_from))) + ")",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
        if answer is None:
            return None
        before = ExportRecord.model_validate(plain(strip_keys(answer["Attributes"])))
        for _ in range(5):
            held = self.table.get(pk, LOCK, consistent=True)
            if held is not None and held["export_id"] != export_id and self._lock_live(tenant_id, held):
                break
            taken = self._write_lock(pk, export_id, held)
            if taken is not None:
                return before
        # Another export of the company got the lock first: this run does not start.
        self.update_export(
            tenant_id,
            export_id,
            {
                "status": before.status,
                "phase": before.phase or ExportPhase.DONE,
                "finished_at": before.finished_at or now_iso(),
            },
            history={
                **history,
                "outcome": "NOT_STARTED",
                "message": "another export of the company started first",
            },
        )
        raise ExportInProgress("another export started for this company meanwhile; wait until it ends")

    # ---- small working data of an export -------------------------------------------------------
    def put_progress(
        self, tenant_id: str, export_id: str, sent: int, fence: dict[str, Any] | None = None
    ) -> None:
        """Lines created so far, while a chunk is pushed (a small item); with `fence` (fence()), only on behalf
        of the export's current run (RunSuperseded else)."""
        update = {
            "Key": {"pk": tenant_pk(tenant_id), "sk": _progress(export_id)},
            "UpdateExpression": "SET sent = :sent, #at = :at",
            "ExpressionAttributeNames": {"#at": "at"},
            "ExpressionAttributeValues": {":sent": sent, ":at": now_iso()},
        }
        self.table.update_items([update], fence)

    def get_progress(self, tenant_id: str, export_id: str) -> int:
        item = self.table.get(tenant_pk(tenant_id), _progress(export_id), consistent=True)
        return int(item["sent"]) if item else 0

    def put_lookups(self, tenant_id: str, export_id: str, lookups: Any) -> None:
        """What Validate read from PowerOffice Go, for Group to reuse."""
        self.table.put(tenant_pk(tenant_id), _lookups(export_id), {"data": pack(lookups, level=9)})

    def get_lookups(self, tenant_id: str, export_id: str) -> Any | None:
        item = self.table.get(tenant_pk(tenant_id), _lookups(export_id), consistent=True)
        return unpack(item["data"]) if item else None

    # The totals of the period's latest exportable preview (one small item per searched period, overwritten),
    # so an export of the same selection shows from its first second what the user confirmed. Computed by the
    # server from the search; the start copies them into the record it writes anyway.
    def put_preview_totals(self, tenant_id: str, period_key: str, totals: Mapping[str, Any]) -> None:
        """Keep a preview's totals, unless the item already holds these very figures (a read, not a write)."""
        pk, sk = tenant_pk(tenant_id), _preview_totals(period_key)
        held = self.table.get(pk, sk)
        if (
            held is not None
            and all(held.get(name) == value for name, value in totals.items())
            and time.time() - float(held.get("at", 0)) < PREVIEW_TOTALS_REFRESH_S
        ):
            return
        self.table.put(pk, sk, {**totals, "at": Decimal(str(round(time.time(), 3)))})

    def get_preview_totals(self, tenant_id: str, period_key: str) -> dict[str, Any] | None:
        item = self.table.get(tenant_pk(tenant_id), _preview_totals(period_key), consistent=True)
        return plain(strip_keys(item)) if item else None


def _encode_token(key: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"sk": key["sk"]}).encode()).decode().rstrip("=")


def _decode_token(token: str, tenant_id: str) -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        sort_key = json.loads(base64.urlsafe_b64decode(padded))["sk"]
        if not isinstance(sort_key, str) or not sort_key.startswith(EXPORT):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise InvalidRequest("next_token is not a token this API gave out") from None
    # The tenant comes from the caller's token, never from next_token: no way to page into another tenant.
    return {"pk": tenant_pk(tenant_id), "sk": sort_key}
