"""Search ("Søk") that never meets API Gateway's 29 s: the answer within the call, or 202 and a preview to poll.

A search reads the period from ABAX into a snapshot. What fits in the call (PREVIEW_INLINE_SECONDS) is read
there; the rest is read by a Step Functions execution (`search-<preview id>`, the same Fetch step as an
export's), while the web app polls `GET /exports/previews/{id}` and shows how far it got. The next search of
the same period within PREVIEW_FRESH_SECONDS reuses the snapshot: it does not fetch again what it has.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Any

from ..abax import AbaxError, TripBatch
from ..domain.period import Period
from ..errors import AbaxInactive, AbaxNotAnswering, NotFound
from ..observability import logger
from ..store.snapshots import FAILED, READY
from . import fetching
from .pages import page
from .planning import prepare_plan
from .services import Services

# A running search whose snapshot has not moved for this long lost its fetch (a crash before the
# execution started): the next search starts afresh. A live fetch writes its cursor every couple of seconds
# while it calls ABAX (fetching.CURSOR_EVERY_S), and never waits longer than a minute for a call.
STALLED_S = 180.0
INLINE_CALL_TIMEOUT_S = 5.0  # an ABAX call inside the API call: its timeout must fit the gateway's 29 s
# How long after its search a preview's totals are shown by an export of the same selection (until the
# export's own check replaces them, seconds later): about the time a user spends on the search screen.
PREVIEW_TOTALS_SECONDS = 3600.0


def _period_key(period: Period) -> str:
    return f"{period.start.isoformat()}_{period.end.isoformat()}"


def _usable(snapshot: dict[str, Any] | None, fresh_s: float) -> bool:
    if snapshot is None or snapshot["status"] == FAILED:
        return False
    now = time.time()
    if now - float(snapshot.get("created_at", 0)) > fresh_s:
        return False
    return (
        snapshot["status"] == READY
        or now - float(snapshot.get("updated_at", snapshot.get("created_at", 0))) < STALLED_S
    )


def search(
    services: Services,
    tenant_id: str,
    period: Period,
    logbook_ids: Iterable[str] | None,
    plan: bool = True,
) -> tuple[int, dict[str, Any]]:
    """(200, the preview) when the period could be read within the call, else (202, the preview resource).

    `plan` False: read the period's trips only (200 with the resource): no PowerOffice Go, so a path that
    only needs the trips (the scheduled start's already-exported check) needs no PowerOffice key.
    """
    from .exports import new_export_id

    # Before any snapshot is reused: a company that disconnected ABAX sees none of what was read with it.
    services.require_abax(tenant_id)
    store = services.store.snapshots
    selection = list(logbook_ids) if logbook_ids is not None else None
    key = _period_key(period)
    for _ in range(3):
        current_id = store.current_for(tenant_id, key)
        current = store.get(tenant_id, current_id) if current_id else None
        if _usable(current, services.settings.preview_fresh_seconds):
            assert current is not None
            if current["status"] == READY:
                if not plan:
                    return 200, resource(current)
                if current.get("logbook_ids") != selection:  # its pages (lines, problems) follow this search
                    store.update(tenant_id, current["snapshot_id"], {"logbook_ids": selection})
                return 200, _ready_body(services, tenant_id, current, selection)
            store.update(tenant_id, current["snapshot_id"], {"logbook_ids": selection})
            return 202, resource({**current, "logbook_ids": selection})
        preview_id = new_export_id(services)
        store.create(tenant_id, preview_id, fetching.new_snapshot(period, "search", logbook_ids=selection))
        if store.set_current(tenant_id, key, preview_id, current_id):
            break
        # Another search of the same period moved first: use its snapshot.
    else:
        raise RuntimeError("searches of the same period kept racing")
    inline = services.settings.preview_inline_seconds
    try:
        result = (
            fetching.fetch(
                services,
                store,
                tenant_id,
                preview_id,
                deadline=time.monotonic() + inline,
                timeout_s=INLINE_CALL_TIMEOUT_S,
            )
            if inline > 0
            else {"done": False}
        )
    except (
        AbaxError
    ) as error:  # unavailable, refused, a 404 page or one without items: no usable answer (502)
        fetching.fail(store, tenant_id, preview_id, str(error))
        raise AbaxNotAnswering(f"the logbooks could not be read from ABAX: {error}") from None
    except AbaxInactive:
        # Not connected: the snapshot ends FAILED, so the search after connecting ABAX reads afresh
        # (a snapshot left RUNNING would be polled, unread, until it counts as stalled).
        fetching.fail(store, tenant_id, preview_id, "ABAX is not connected")
        raise
    snapshot = store.get(tenant_id, preview_id)
    assert snapshot is not None
    if result["done"]:
        return 200, _ready_body(services, tenant_id, snapshot, selection) if plan else resource(snapshot)
    services.runs.start_search(tenant_id, preview_id)
    logger.info(
        "search goes on in the background", extra={"tenant_id": tenant_id, "preview_id": preview_id, **result}
    )
    return 202, resource(snapshot)


def resource(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The preview while it is read: where to poll and how far it got."""
    body: dict[str, Any] = {
        "preview_id": snapshot["snapshot_id"],
        "status": snapshot["status"],
        "period": snapshot["period"],
        "progress": fetching.progress(snapshot),
    }
    if snapshot["status"] == FAILED:
        body["error"] = {
            "code": "ABAX_UNAVAILABLE",
            "message": str(snapshot.get("error") or "ABAX could not be read"),
        }
    return body


def get_preview(services: Services, tenant_id: str, preview_id: str) -> dict[str, Any]:
    snapshot = services.store.snapshots.get(tenant_id, preview_id)
    if snapshot is None or snapshot.get("kind") != "search":
        raise NotFound(f"no preview {preview_id} for this company")
    if snapshot["status"] == READY:
        return _ready_body(services, tenant_id, snapshot, snapshot.get("logbook_ids"))
    return resource(snapshot)


def _ready_plan(services: Services, tenant_id: str, preview_id: str) -> Any:
    """The plan of a finished search, for its lines and problems page by page (a search's answer holds the
    first of each: a 5,000-driver month has about 23,000 lines, more than Lambda's 6 MB answer)."""
    snapshot = services.store.snapshots.get(tenant_id, preview_id)
    if snapshot is None or snapshot.get("kind") != "search":
        raise NotFound(f"no preview {preview_id} for this company")
    if snapshot["status"] != READY:
        raise NotFound(
            f"preview {preview_id} is still reading ABAX ({snapshot['status']}); its lines follow when it is READY",
            params={"preview_id": preview_id, "status": snapshot["status"]},
        )
    period = Period.parse(snapshot["period"]["from"], snapshot["period"]["to"])
    batch = fetching.read_trips(services.store.snapshots, tenant_id, preview_id, period)
    return _plan(services, tenant_id, period, snapshot.get("logbook_ids"), batch)


def _plan(
    services: Services, tenant_id: str, period: Period, logbook_ids: Iterable[str] | None, batch: TripBatch
) -> Any:
    """The search's plan; its PowerOffice Go lookups give up within seconds (an API call): 429s past a few
    seconds answer 503 POWEROFFICE_BUSY with Retry-After (the limit is every company's, and a month end can
    spend it for minutes), a PowerOffice that does not answer 502."""
    with services.poweroffice_for(tenant_id, within_api_call=True) as poweroffice:
        return prepare_plan(services, tenant_id, period, logbook_ids, poweroffice=poweroffice, batch=batch)


def preview_lines(
    services: Services, tenant_id: str, preview_id: str, offset: int, limit: int
) -> dict[str, Any]:
    from .exports import preview_lines as lines_of

    lines = lines_of(_ready_plan(services, tenant_id, preview_id))
    return {"preview_id": preview_id, **page(lines, offset, limit, "lines", "line_count")}


def preview_problem(
    services: Services, tenant_id: str, preview_id: str, code: str, offset: int, limit: int
) -> dict[str, Any]:
    prepared = _ready_plan(services, tenant_id, preview_id)
    problem = next((problem for problem in prepared.plan.problems if problem.code == code), None)
    if problem is None:
        raise NotFound(
            f"preview {preview_id} has no problem {code}", params={"preview_id": preview_id, "code": code}
        )
    return {
        **{name: value for name, value in problem.to_dict().items() if name != "items"},
        "preview_id": preview_id,
        **page(problem.items, offset, limit, "items", "item_count"),
    }


def _ready_body(
    services: Services, tenant_id: str, snapshot: dict[str, Any], logbook_ids: Iterable[str] | None
) -> dict[str, Any]:
    from .exports import preview_body

    period = Period.parse(snapshot["period"]["from"], snapshot["period"]["to"])
    batch = fetching.read_trips(services.store.snapshots, tenant_id, snapshot["snapshot_id"], period)
    prepared = _plan(services, tenant_id, period, logbook_ids, batch)
    body = {**resource(snapshot), **preview_body(prepared)}
    if body["ready"] and body["lines"]:
        _keep_totals(services, tenant_id, period, logbook_ids, prepared, body)
    return body


def selection_digest(logbook_ids: Iterable[str]) -> str:
    """The same for the same set of logbooks, whatever their order (what the preview and the start share)."""
    return hashlib.sha256("\n".join(sorted(set(logbook_ids))).encode()).hexdigest()[:32]


def _keep_totals(
    services: Services,
    tenant_id: str,
    period: Period,
    logbook_ids: Iterable[str] | None,
    prepared: Any,
    body: dict[str, Any],
) -> None:
    """Keep what this exportable preview totals, for an export of the same selection to show from its start.

    Keyed by the logbooks the preview planned (a search of the whole period, then a start naming the same
    logbooks, match), and whether it was asked for the whole period (a start without `logbook_ids`)."""
    totals = body["totals"]
    try:
        services.store.exports.put_preview_totals(
            tenant_id,
            _period_key(period),
            {
                "selection": selection_digest(logbook.logbook_id for logbook in prepared.plan.logbooks),
                "whole_period": logbook_ids is None,
                "preview_id": body["preview_id"],
                "line_count": totals["lines"],
                "total_amount": totals["amount"],
                "tax_free_amount": totals["tax_free_amount"],
                "taxable_amount": totals["taxable_amount"],
            },
        )
    except Exception:  # noqa: BLE001 - the search answers anyway; the export then shows its figures once checked
        logger.warning("preview totals not kept", exc_info=True, extra={"tenant_id": tenant_id})


def confirmed_totals(
    services: Services, tenant_id: str, period: Period, logbook_ids: Iterable[str] | None
) -> dict[str, Any] | None:
    """The totals of the period's latest exportable preview, when it planned this selection and is recent."""
    held = services.store.exports.get_preview_totals(tenant_id, _period_key(period))
    if held is None or time.time() - float(held.get("at", 0)) > PREVIEW_TOTALS_SECONDS:
        return None
    if logbook_ids is None:
        if not held.get("whole_period"):
            return None
    elif held.get("selection") != selection_digest(logbook_ids):
        return None
    return {
        name: held[name]
        for name in ("line_count", "total_amount", "tax_free_amount", "taxable_amount")
        if name in held
    }


def ready_trips(services: Services, tenant_id: str, period: Period) -> TripBatch | None:
    """The period's trips as the latest finished search read them, if one did (else None)."""
    store = services.store.snapshots
    current_id = store.current_for(tenant_id, _period_key(period))
    snapshot = store.get(tenant_id, current_id) if current_id else None
    if snapshot is None or snapshot["status"] != READY:
        return None
    return fetching.read_trips(store, tenant_id, snapshot["snapshot_id"], period)


# ---- the state machine's search steps ------------------------------------------------------------------


def fetch_step(services: Services, tenant_id: str, preview_id: str, remaining_s: float) -> dict[str, Any]:
    return fetching.fetch_piece(services, tenant_id, preview_id, remaining_s)


def failed_step(services: Services, tenant_id: str, preview_id: str, state: dict[str, Any]) -> dict[str, Any]:
    from .steps import error_message

    fetching.fail(services.store.snapshots, tenant_id, preview_id, error_message(state.get("error")))
    return {"status": FAILED}
