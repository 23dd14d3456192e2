"""Read a period's trips from ABAX in pieces that fit any invocation: call by call, under a deadline, resumable.

The fetch walks ABAX's trips pages (windows of at most 3 months, pages of up to 1,500) and, after each page,
the expense calls for its reimbursable trips (150 ids a call). Every answer is kept in the snapshot before
the cursor moves on, so a Lambda that runs out of time, or a call that fails, costs that one call; the
state machine (or the next search) continues from the cursor. Pacing under ABAX's 60 requests a minute is
the ABAX client's; a wait it would make past the deadline ends this piece of the fetch instead.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from ..abax import AbaxAuthFailed, AbaxUnavailable, TripBatch
from ..abax.adapter import TripMapper, raw_timestamp, reimbursable_trip_ids
from ..abax.windows import EDGE_DAYS, EXPENSE_BATCH, WINDOW_DAYS, date_windows
from ..domain.period import Period
from ..errors import SourceUnavailable
from ..store.snapshots import FAILED, READY, RUNNING, SnapshotStore
from .services import Services

# An ABAX call is not started with less time than this left: its answer (or its timeout) must fit.
CALL_MARGIN_S = 2.0
# The cursor is written when a piece ends (done, its deadline, a failed call) and otherwise at most this often:
# a crashed function loses at most these seconds of calls (read again, to the same S3 keys), a search's
# progress moves as often, and a month's read costs a write every couple of seconds, not one per call.
CURSOR_EVERY_S = 2.0


class DeadlineReached(Exception):
    """The next ABAX call, or a wait before it, would end after this invocation's deadline."""


def deadline_sleep(deadline: float, clock: Callable[[], float] = time.monotonic) -> Callable[[float], None]:
    """The ABAX client's sleep: a rate-limit wait that would pass the deadline ends the piece instead."""

    def sleep(seconds: float) -> None:
        if clock() + seconds > deadline - CALL_MARGIN_S:
            raise DeadlineReached(f"a wait of {seconds:.1f} s would pass this invocation's deadline")
        time.sleep(seconds)

    return sleep


def request_windows(period: Period) -> list[tuple[date, date]]:
    """The (date_from, date_to) windows the fetch asks ABAX for, one extra day each side (see EDGE_DAYS)."""
    first = period.start - timedelta(days=EDGE_DAYS)
    last = period.end + timedelta(days=EDGE_DAYS)
    return list(date_windows(first, last, WINDOW_DAYS))


def new_snapshot(period: Period, kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "status": RUNNING,
        "cursor": {"window": 0, "page": 1, "batch": -1, "batches": 0, "last": False},
        "trips_read": 0,
        "calls": 0,
        "created_at": round(time.time(), 3),
        **fields,
    }


def progress(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What the user sees while trips are read: "reading trips: 1,200 of about 9,000"."""
    read = int(snapshot.get("trips_read", 0))
    done = snapshot.get("status") == READY
    expected = read if done else snapshot.get("trips_expected")
    return {
        "phase": "done" if done else "reading_trips",
        "trips_read": read,
        "trips_expected": expected,
        "calls": int(snapshot.get("calls", 0)),
    }


def _expected(
    period: Period, windows: list[tuple[date, date]], read: int, last_day: str | None
) -> int | None:
    """About how many trips the period has: those read, scaled by the share of the days the pages covered.

    ABAX gives no total; its pages come in date order, so the last trip's date tells how far they got.
    """
    if not last_day or read == 0:
        return None
    first, end = windows[0][0], windows[-1][1]
    covered = (date.fromisoformat(last_day) - first).days + 1
    total = (end - first).days + 1
    if covered <= 0:
        return None
    estimate = read * total / min(covered, total)
    return max(read, int(math.ceil(estimate / 100.0) * 100))


def fetch(
    services: Services,
    store: SnapshotStore,
    tenant_id: str,
    snapshot_id: str,
    *,
    deadline: float,
    max_calls: int | None = None,
    timeout_s: float | None = None,
    initial: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Go on reading the snapshot's period from ABAX until it is complete, `max_calls` were made, or the
    deadline (time.monotonic) is near. Returns the snapshot's progress with `done`.

    `initial`: the snapshot to start when none is stored yet (an export's), written with its first cursor.
    """
    found = store.get(tenant_id, snapshot_id)
    if found is not None:
        saved = _Saved(store, tenant_id, snapshot_id, found, stored=True)
    elif initial is not None:
        saved = _Saved(store, tenant_id, snapshot_id, {**initial, "snapshot_id": snapshot_id}, stored=False)
    else:
        raise LookupError(f"snapshot {snapshot_id} of tenant {tenant_id} does not exist")
    snapshot = saved.snapshot
    if snapshot["status"] == READY:
        return {**progress(snapshot), "done": True}
    try:
        try:
            _read_on(services, saved, deadline, max_calls, timeout_s)
        except _FinishedElsewhere:
            raise
        except BaseException:
            # What was read before the failure is kept: a retry resumes at the call that failed.
            with contextlib.suppress(Exception):  # the failure itself is what the caller must see
                saved.save()
            raise
        saved.save()
    except _FinishedElsewhere:
        snapshot = store.get(tenant_id, snapshot_id) or snapshot
    return {**progress(snapshot), "done": snapshot["status"] == READY}


class _Saved:
    """The snapshot record as the fetch moves it, and what of it is not written yet."""

    def __init__(
        self, store: SnapshotStore, tenant_id: str, snapshot_id: str, snapshot: dict[str, Any], stored: bool
    ) -> None:
        self.store, self.tenant_id, self.snapshot_id = store, tenant_id, snapshot_id
        self.snapshot = snapshot
        self._stored = stored
        self._unsaved: dict[str, Any] = {}
        self._saved_at = time.monotonic()

    def move(self, fields: dict[str, Any]) -> None:
        """The cursor moved past a call whose answer is kept: written when done, else at most every few s."""
        self.snapshot.update(fields)
        self._unsaved.update(fields)
        if fields.get("status") == READY or time.monotonic() - self._saved_at >= CURSOR_EVERY_S:
            self.save()

    def save(self) -> None:
        if not self._unsaved:
            return
        if not self._stored:  # an export's snapshot: its first write is the whole record
            self._stored = True
            if self.store.put(self.tenant_id, self.snapshot_id, self.snapshot):
                self._unsaved = {}
        if self._unsaved and not self.store.move(self.tenant_id, self.snapshot_id, self._unsaved):
            raise _FinishedElsewhere
        self._unsaved = {}
        self._saved_at = time.monotonic()


class _FinishedElsewhere(Exception):
    """Another invocation of the step read the snapshot to its end (this one was cut at its timeout)."""


def _read_on(
    services: Services, saved: _Saved, deadline: float, max_calls: int | None, timeout_s: float | None
) -> None:
    """The calls of one piece; the cursor moves in the snapshot after each."""
    store, tenant_id, snapshot_id, snapshot = saved.store, saved.tenant_id, saved.snapshot_id, saved.snapshot
    period = Period.parse(snapshot["period"]["from"], snapshot["period"]["to"])
    windows = request_windows(period)
    cursor = dict(snapshot["cursor"])
    read, calls = int(snapshot.get("trips_read", 0)), int(snapshot.get("calls", 0))
    last_day: str | None = snapshot.get("last_day")
    page_size = services.settings.abax_page_size
    made = 0
    ids: list[str] | None = None  # the current page's reimbursable trip ids, known once its trips are read
    with services.abax_for(tenant_id, sleep=deadline_sleep(deadline), timeout=timeout_s) as abax:
        while cursor["window"] < len(windows):
            # Every piece makes one call at least, so a short budget still moves the fetch on.
            if (max_calls is not None and made >= max_calls) or (
                made and time.monotonic() > deadline - CALL_MARGIN_S
            ):
                break
            window, page = cursor["window"], cursor["page"]
            try:
                if cursor["batch"] < 0:
                    date_from, date_to = windows[window]
                    trips = abax.trips_page(date_from, date_to, page, page_size)
                    store.put_part(store.trips_key(tenant_id, snapshot_id, window, page), trips)
                    ids = reimbursable_trip_ids(trips, period)
                    read += len(trips)
                    last_day = _last_day(trips) or last_day
                    cursor.update(
                        batch=0, batches=math.ceil(len(ids) / EXPENSE_BATCH), last=len(trips) < page_size
                    )
                else:
                    if ids is None:  # resumed between the expense calls of a page: its trips are kept
                        ids = reimbursable_trip_ids(
                            store.get_part(store.trips_key(tenant_id, snapshot_id, window, page)), period
                        )
                    batch = cursor["batch"]
                    answer = abax.expenses(ids[batch * EXPENSE_BATCH : (batch + 1) * EXPENSE_BATCH])
                    store.put_part(store.expenses_key(tenant_id, snapshot_id, window, page, batch), answer)
                    cursor["batch"] = batch + 1
            except DeadlineReached:
                break
            made += 1
            calls += 1
            if (
                cursor["batch"] >= cursor["batches"]
            ):  # the page and its expenses are kept: on to the next page
                ids = None
                if cursor["last"]:
                    cursor.update(window=window + 1, page=1, batch=-1, batches=0, last=False)
                else:
                    cursor.update(page=page + 1, batch=-1, batches=0, last=False)
            done = cursor["window"] >= len(windows)
            fields: dict[str, Any] = {
                "cursor": cursor,
                "trips_read": read,
                "calls": calls,
                "last_day": last_day,
                "trips_expected": read if done else _expected(period, windows, read, last_day),
            }
            if done:
                fields["status"] = READY
                fields["ready_at"] = round(time.time(), 3)
            saved.move(fields)


def fetch_piece(
    services: Services,
    tenant_id: str,
    snapshot_id: str,
    remaining_s: float,
    initial: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One state-machine step of a fetch: as much as this invocation's budget allows (`initial`: see fetch)."""
    config = services.settings
    # Up to a minute of the function's time is kept for the last call and the writes (Lambda cuts at its timeout).
    budget = min(config.fetch_seconds, remaining_s - min(60.0, remaining_s / 4))
    try:
        return fetch(
            services,
            services.store.snapshots,
            tenant_id,
            snapshot_id,
            deadline=time.monotonic() + budget,
            max_calls=config.fetch_calls_per_invocation or None,
            initial=initial,
        )
    except (AbaxUnavailable, AbaxAuthFailed) as error:
        # Worth a retry: the state machine retries the step, which resumes at the call that failed.
        raise SourceUnavailable(f"the logbooks could not be read from ABAX: {error}") from None


def fail(store: SnapshotStore, tenant_id: str, snapshot_id: str, message: str) -> None:
    store.update(tenant_id, snapshot_id, {"status": FAILED, "error": message})


def read_trips(store: SnapshotStore, tenant_id: str, snapshot_id: str, period: Period) -> TripBatch:
    """The snapshot's trips as domain trips, one page in memory at a time."""
    mapper = TripMapper(period)
    for part in store.pages(tenant_id, snapshot_id):
        expenses: list[dict[str, Any]] = []
        for key in part.expense_keys:
            expenses += store.get_part(key)
        mapper.add(store.get_part(part.trips_key), expenses)
    return mapper.batch()


def _last_day(trips: list[dict[str, Any]]) -> str | None:
    """The UTC date of the latest trip start on a page (for the estimate only)."""
    latest: str | None = None
    for raw in trips:
        value = raw_timestamp(raw) if isinstance(raw, dict) else None
        if isinstance(value, str) and len(value) >= 10 and (latest is None or value[:10] > latest):
            try:
                datetime.fromisoformat(value[:10])
            except ValueError:
                continue
            latest = value[:10]
    return latest
