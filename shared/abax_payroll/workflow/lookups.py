"""Validate's PowerOffice Go lookups (the pay items and employees an export needs), made by the pusher.

PowerOffice Go's 10 requests/s belong to the platform's subscription key, shared by every company, and the
pusher is the one that spends them (workflow/push.py). A month end starts hundreds of exports within minutes:
if each Validate asked Go itself, each would wait inside its Lambda invocation for a share of the limit (or,
in AWS, where every instance paces on its own, take 429s from the pusher's share and wait out Retry-After).
So the lookups go through the push queue, as an entry of action `lookup`:

- **request** (the LookUp task, `lambda:invoke.waitForTaskToken`): ExportSteps reads the export's snapshot for
  the drivers' employee numbers and the tenant's configured pay-item codes, writes them as the export's lookup
  request, and queues the entry; the task then waits on its token at no Lambda cost.
- **look_up** (the pusher, at the company's round-robin turn, under its limiter): asks Go for those pay items
  and employees with the key version the export pinned, writes the answer where Validate reads it, and answers
  the task. A refusal a user can act on (an integration switched off, a key gone, missing privileges) is the
  answer Validate turns into the export's problem, as when it asked itself; Go not answering is
  SourceUnavailable, which the LookUp task retries.

Validate then makes no PowerOffice request. An export whose lookups were never requested (started before this
state existed) is looked up by Validate itself, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import PayrollError, RunSuperseded, SourceUnavailable
from ..store.push_queue import QueuedChunk
from . import fetching
from .planning import lookups_json, wanted_lookups
from .services import Services
from .sources import reading_poweroffice

LOOKUP = "lookup"  # the push queue entry's action
# The lookup's entry in the push queue: a key of its own beside the export's chunks (0, 1, ...).
LOOKUP_CHUNK = -1


def request(services: Services, tenant_id: str, export_id: str, run: str) -> None:
    """Write what the export needs looked up (the step then queues the entry and its task waits)."""
    exports = services.store.exports
    if not exports.is_current_run(tenant_id, export_id, run):
        raise RunSuperseded(f"export {export_id} has moved on from this run; nothing is looked up")
    record = exports.get_export(tenant_id, export_id)
    if record is None:
        raise LookupError(f"export {export_id} of tenant {tenant_id} has no record")
    snapshots = services.store.snapshots
    snapshot = snapshots.get(tenant_id, export_id)
    if snapshot is None or snapshot["status"] != "READY":
        raise SourceUnavailable("the export's trips were not read from ABAX to the end")
    batch = fetching.read_trips(snapshots, tenant_id, export_id, record.period.parsed())
    codes, numbers = wanted_lookups(services, tenant_id, batch.trips)
    exports.put_lookups(tenant_id, export_id, {"wanted": {"codes": codes, "numbers": numbers}})


def look_up(services: Services, entry: QueuedChunk, check: Callable[[], None]) -> dict[str, Any]:
    """The pusher's turn for an export's lookup entry: ask Go, write the answer (while the run is live: `check`
    raises RunSuperseded once it is not)."""
    tenant_id, export_id = entry.tenant_id, entry.export_id
    check()
    exports = services.store.exports
    wanted = (exports.get_lookups(tenant_id, export_id) or {}).get("wanted")
    record = exports.get_export(tenant_id, export_id)
    if wanted is None or record is None:
        raise LookupError(f"export {export_id} of tenant {tenant_id} has no lookup request")
    answer: dict[str, Any] = {"wanted": wanted}
    try:
        with reading_poweroffice(), services.poweroffice_for_export(tenant_id, record) as poweroffice:
            pay_items = poweroffice.pay_items_by_codes(wanted["codes"]) if wanted["codes"] else {}
            employees = poweroffice.employees_by_numbers(wanted["numbers"]) if wanted["numbers"] else {}
    except PayrollError as error:
        if error.status >= 500:
            raise SourceUnavailable(error.detail) from None  # the LookUp task asks again
        answer["refused"] = {"code": error.code, "detail": error.detail}
    else:
        answer.update(lookups_json(pay_items, employees))
    check()  # a run stopped meanwhile writes nothing
    exports.put_lookups(tenant_id, export_id, answer)
    return {"looked_up": "refused" if "refused" in answer else "answered"}


def answered(saved: dict[str, Any] | None) -> bool:
    """Whether the pusher's answer to the export's lookup request is what `saved` holds."""
    if not saved or "wanted" not in saved:
        return False
    return "refused" in saved or "pay_item_columns" in saved
