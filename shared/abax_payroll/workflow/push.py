"""Pushing salary lines to PowerOffice Go: a chunk waits in the push queue, and one pusher drains it fairly.

PowerOffice Go's limit (10 requests/s) belongs to the platform's subscription key, shared by every company. So:

- **enqueue** (the state machine's PushChunk task, `lambda:invoke.waitForTaskToken`): the chunk's queue entry
  (its run and task token) is written, the pusher woken if none is draining, and the invocation returns at
  once. The chunk then waits in Step Functions on its token: no Lambda runs and nothing is read while it waits.
- **the pusher** (one at a time: the PUSHER lease, and reserved concurrency 1 in AWS): takes the entries one
  chunk at a time, round-robin across companies (the company served longest ago first, then the oldest entry),
  pushes each only while its run is live, records the created ids, and answers the waiting task
  (SendTaskSuccess, or SendTaskFailure with the error the state machine's Catch knows: PushFailed, …).

A run that is no longer live (stopped, timed out, or its export moved on to another run) is never pushed: its
entry is dropped. The check is made when the chunk gets its turn, and again before each line is created (the
export's record at every line, the execution's status at most once a second), so a run stopped mid-chunk
stops creating within about a second; the ids of what it created are still recorded, and the run's end is
recorded (workflow/ended.py) only after (`PushQueue.in_flight`). A pusher that dies is replaced (the next
enqueue, the one-minute schedule); the chunk it held is pushed again, and ExternalImportReference makes every
line it had created come back as the same line, never a second one.
"""

from __future__ import annotations

import contextvars
import json
import math
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from .. import crashpoints
from ..errors import PushFailed, RunSuperseded
from ..observability import logger
from ..poweroffice import PowerOfficeError
from ..records import CreatedIds, PlannedLine
from ..store.push_queue import QueuedChunk
from . import lookups
from .lookups import LOOKUP
from .services import Services

PUSHER_LEASE = "PUSHER"
# How long a pusher's hold lasts after its last renewal (settings.pusher_hold_s, 60 s): the PUSHER lease, and
# each chunk it is pushing (in flight). Renewed three times as often, so only a pusher that died lets one lapse;
# then the next pusher (the one-minute schedule) takes the lease and the chunk over.
RENEWALS_PER_HOLD = 3
# Chunks (of different companies) pushed at once: one's reads and writes around its lines (the key, its lines,
# the ids, the answer) overlap another's lines, so PowerOffice's 10 requests/s are used without gaps.
CHUNKS_AT_ONCE = 2
# Validate's lookups (two GETs each, workflow/lookups.py) served beside them: at a month end's start every company
# needs its lookups before its first chunk, and one at a time their reads and writes would leave the limit idle.
LOOKUPS_AT_ONCE = 4
IDLE_S = 3.0  # an empty queue is watched this long before the pusher ends (the next chunk is on its way)
IDLE_POLL_S = 0.2
REFRESH_S = 1.0  # the queue is read at most once a second
RUN_CHECK_S = 1.0  # DescribeExecution of the run being pushed, at most once a second
HEARTBEAT_EVERY_S = 1200.0  # a waiting task hears from the pusher this often (its HeartbeatSeconds: 3,600)
STOP_BEFORE_END_S = 60.0  # leave the Lambda invocation's last minute for the chunk in hand and the release
# DynamoDB's and Step Functions' throttling: waited out and tried again, never the end of an export.
THROTTLING = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
}
# Progress while a chunk is pushed: a small counter item written after evenly spread numbers of created lines
# (progress_marks), so the count moves through the chunk; bounded by the lines, not the clock.
PROGRESS_WRITES_PER_LINE = 0.03
PROGRESS_MIN_WRITES = 2


def progress_marks(lines: int) -> list[int]:
    """After how many created lines of a chunk of `lines` its progress counter is written (e.g. 100 lines:
    after 25, 50 and 75; 16 lines: after 6 and 11); never at the chunk's end."""
    writes = max(PROGRESS_MIN_WRITES, int(lines * PROGRESS_WRITES_PER_LINE))
    marks = {math.ceil(lines * k / (writes + 1)) for k in range(1, writes + 1)}
    return sorted(mark for mark in marks if 0 < mark < lines)


# ---- enqueue: the PushChunk task ----------------------------------------------------------------------------
def enqueue(
    services: Services, tenant_id: str, export_id: str, chunk: int, run: str, token: str, action: str = "push"
) -> dict[str, Any]:
    """Queue the chunk for the pusher and return: the task waits on `token` until the pusher answers."""
    if not services.store.exports.is_current_run(tenant_id, export_id, run):
        raise RunSuperseded(f"export {export_id} has moved on from this run; chunk {chunk} is not queued")
    services.store.push_queue.put(tenant_id, export_id, chunk, run, token, action)
    # Written first, then the pusher's lease read: a pusher that is leaving releases its lease and then reads
    # the queue once more, so either it sees this entry or this sees it gone (and wakes a new one).
    if not pusher_alive(services):
        services.nudge_pusher()
    return {"queued": chunk}


def pusher_alive(services: Services) -> bool:
    lease = services.store.leases.peek(PUSHER_LEASE) or {}
    return bool(lease.get("holder")) and float(lease.get("expires_at") or 0) > time.time()


# ---- the pusher ---------------------------------------------------------------------------------------------
def drain(services: Services, remaining_s: Callable[[], float]) -> dict[str, Any]:
    """The pusher function's invocation: drain the queue until it stays empty or the invocation's time ends."""
    return Pusher(services, remaining_s).run()


class Pusher:
    def __init__(self, services: Services, remaining_s: Callable[[], float]):
        self.services = services
        self.remaining_s = remaining_s
        self.holder = f"pusher-{uuid.uuid4().hex[:12]}"
        self.served: dict[str, float] = {}  # tenant -> when this pusher last answered one of its chunks
        self.pushed = 0
        self.dropped = 0
        self._entries: list[QueuedChunk] = []
        self._busy: set[str] = set()  # companies with a chunk being pushed now (one at a time each)
        self._read_at = 0.0
        self._renewed_at = 0.0
        self.hold_s = services.settings.pusher_hold_s

    def run(self) -> dict[str, Any]:
        leases = self.services.store.leases
        limiter = self.services.limiter()
        while True:
            handover = leases.acquire_lease(PUSHER_LEASE, self.holder, self.hold_s)
            if handover is None:
                return {"outcome": "another pusher drains the queue"}
            self._renewed_at = time.monotonic()
            # The previous pusher may have been another Lambda instance: its last second counts at PowerOffice.
            limiter.seed(handover)
            try:
                self._drain()
            finally:
                leases.release_lease(PUSHER_LEASE, self.holder, limiter.handover())
            # Released, then the queue read once more: a chunk queued meanwhile saw the lease still held.
            # At the invocation's end, the next chunk queued wakes a new pusher (or the schedule does).
            if not self._waiting(fresh=True) or self.remaining_s() < STOP_BEFORE_END_S:
                break
        return {"outcome": "queue empty", "pushed": self.pushed, "dropped": self.dropped}

    def _drain(self) -> None:
        """Serve the queue until it stays empty: up to CHUNKS_AT_ONCE chunks (of different companies) at once,
        so one chunk's reads and writes before and after its lines overlap another's lines."""
        idle_since: float | None = None
        running: dict[Future[None], QueuedChunk] = {}
        with ThreadPoolExecutor(CHUNKS_AT_ONCE + LOOKUPS_AT_ONCE, thread_name_prefix="pusher") as pool:
            try:
                while self.remaining_s() > STOP_BEFORE_END_S and self._keep_lease():
                    self._collect(running)
                    looking_up = sum(1 for entry in running.values() if entry.action == LOOKUP)
                    if len(running) >= CHUNKS_AT_ONCE + LOOKUPS_AT_ONCE:
                        wait(running, timeout=IDLE_POLL_S, return_when=FIRST_COMPLETED)
                        continue
                    entry = self._next(
                        may_push=len(running) - looking_up < CHUNKS_AT_ONCE,
                        may_look_up=looking_up < LOOKUPS_AT_ONCE,
                    )
                    if entry is None:
                        if running:
                            wait(running, timeout=IDLE_POLL_S, return_when=FIRST_COMPLETED)
                            continue
                        now = time.monotonic()
                        idle_since = idle_since or now
                        if now - idle_since > IDLE_S:
                            return
                        time.sleep(IDLE_POLL_S)
                        continue
                    idle_since = None
                    self._busy.add(entry.tenant_id)
                    running[pool.submit(contextvars.copy_context().run, self._serve, entry)] = entry
            finally:
                wait(running)
                self._collect(running)

    def _collect(self, running: dict[Future[None], QueuedChunk]) -> None:
        for future in [future for future in running if future.done()]:
            entry = running.pop(future)
            self._busy.discard(entry.tenant_id)
            self._entries = [other for other in self._entries if other != entry]
            error = future.exception()
            if error is None:
                continue
            if isinstance(error, ClientError) and error.response["Error"]["Code"] in THROTTLING:
                logger.warning(
                    "throttled; the chunk waits its next turn", extra={"export_id": entry.export_id}
                )
                time.sleep(1.0)
                continue
            raise error

    def _keep_lease(self) -> bool:
        if time.monotonic() - self._renewed_at < self.hold_s / RENEWALS_PER_HOLD:
            return True
        held = self.services.store.leases.acquire_lease(PUSHER_LEASE, self.holder, self.hold_s)
        self._renewed_at = time.monotonic()
        return held is not None

    def _waiting(self, fresh: bool = False) -> list[QueuedChunk]:
        now = time.monotonic()
        if fresh or now - self._read_at >= (REFRESH_S if self._entries else IDLE_POLL_S):
            self._entries = self.services.store.push_queue.waiting()
            self._read_at = now
            self._heartbeats()
        wall = time.time()
        return [
            entry for entry in self._entries if entry.taken_until < wall and entry.tenant_id not in self._busy
        ]

    def _next(self, may_push: bool = True, may_look_up: bool = True) -> QueuedChunk | None:
        """Round-robin across companies: the company this pusher served longest ago (or never), then the entry
        queued first; a company's chunks one at a time. So a 10-line export waits for about one chunk of each
        company ahead of it, never for a 10,000-line export. `may_push`, `may_look_up`: whether a chunk, a lookup
        may start now."""
        waiting = [
            entry for entry in self._waiting() if (may_look_up if entry.action == LOOKUP else may_push)
        ]
        if not waiting:
            return None
        return min(waiting, key=lambda entry: (self.served.get(entry.tenant_id, 0.0), entry.queued_at))

    def _heartbeats(self) -> None:
        """Tell each long-waiting task its chunk is still queued (its HeartbeatSeconds is an hour); a task that
        is gone (its run ended) has its entry dropped."""
        runs, queue = self.services.runs, self.services.store.push_queue
        wall = time.time()
        for entry in self._entries:
            if entry.taken_until < wall and wall - entry.heartbeat_at > HEARTBEAT_EVERY_S:
                if runs.heartbeat(entry.token):
                    queue.heard(entry)
                else:
                    queue.remove(entry)

    def _serve(self, entry: QueuedChunk) -> None:
        services = self.services
        queue, runs = services.store.push_queue, services.runs
        if not queue.take(entry, self.hold_s):
            return  # queued again meanwhile (a newer token): served from its new entry
        watch = RunWatch(services, entry, self.hold_s)
        try:
            if not watch.execution_running():
                # Stopped or timed out while it waited: its token is dead; nothing is sent, ever.
                logger.info("run ended while its chunk waited; dropped", extra=_about(entry))
                self.dropped += 1
                queue.remove(entry)
                return
            if entry.action == LOOKUP:  # Validate's PowerOffice Go lookups (workflow/lookups.py)
                result = lookups.look_up(services, entry, watch.check)
            else:
                result = push_chunk(services, entry.tenant_id, entry.export_id, entry.chunk, entry.run, watch)
        except RunSuperseded as error:
            logger.info(
                "run no longer live; its chunk stops quietly", extra={**_about(entry), "why": str(error)}
            )
            self.dropped += 1
            if watch.execution_running(now=True):
                runs.fail_task(entry.token, "RunSuperseded", str(error))
        except ClientError as error:
            if error.response["Error"]["Code"] in THROTTLING:
                queue.take(entry, 0)  # back in line, untaken
                raise
            runs.fail_task(entry.token, _error_name(error), str(error))
        except Exception as error:  # noqa: BLE001 - every failure answers the waiting task, named for its Catch
            logger.warning("chunk failed", extra={**_about(entry), "error": type(error).__name__})
            runs.fail_task(entry.token, _error_name(error), str(error))
        else:
            self.pushed += 1
            runs.succeed_task(entry.token, json.dumps(result))
        self.served[entry.tenant_id] = time.time()
        queue.remove(entry)


def _about(entry: QueuedChunk) -> dict[str, Any]:
    return {"export_id": entry.export_id, "tenant_id": entry.tenant_id, "chunk": entry.chunk}


def _error_name(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response["Error"]["Code"])
    return type(error).__name__


class RunWatch:
    """Whether the run that queued a chunk is still live: its export's current running run (the record, read at
    every line) and a RUNNING execution (DescribeExecution, at most once a second). Also keeps the chunk's
    in-flight mark fresh while it is pushed."""

    def __init__(self, services: Services, entry: QueuedChunk, hold_s: float):
        self.services = services
        self.entry = entry
        self.hold_s = hold_s
        self._lock = threading.Lock()
        self._described_at = 0.0
        self._running = True
        self._taken_at = time.monotonic()

    def execution_running(self, now: bool = False) -> bool:
        with self._lock:
            if now or time.monotonic() - self._described_at >= RUN_CHECK_S:
                self._running = self.services.runs.is_running(self.entry.run)
                self._described_at = time.monotonic()
            return self._running

    def check(self) -> None:
        """RunSuperseded unless the run is still live; before each line is created."""
        entry = self.entry
        if not self.execution_running():
            raise RunSuperseded(f"the run {entry.run.rsplit(':', 1)[-1]} is no longer running")
        if not self.services.store.exports.is_current_run(entry.tenant_id, entry.export_id, entry.run):
            raise RunSuperseded(
                f"export {entry.export_id} has moved on from the run {entry.run.rsplit(':', 1)[-1]}"
            )
        with self._lock:
            renew = time.monotonic() - self._taken_at >= self.hold_s / RENEWALS_PER_HOLD
            if renew:
                self._taken_at = time.monotonic()
        if renew:
            self.services.store.push_queue.take(entry, self.hold_s)


# ---- one chunk ----------------------------------------------------------------------------------------------
def push_chunk(
    services: Services, tenant_id: str, export_id: str, chunk: int, run: str, watch: RunWatch
) -> dict[str, Any]:
    """Create the chunk's missing lines while the run is live; record their ids (fenced); PushFailed when
    PowerOffice Go refused one, RunSuperseded when the run stopped being live."""
    watch.check()  # its turn came: is the run that queued it still live?
    store = services.store.lines
    lines = store.get_line_chunk(tenant_id, export_id, chunk)
    created = store.get_created(tenant_id, export_id)
    pending = [line for line in lines if line.index not in created]
    if not pending:  # a chunk pushed again whose lines all exist already
        return {"chunk": chunk, "created": 0}
    sent_before = len(created)
    exports = services.store.exports
    fence = exports.fence(tenant_id, export_id, run)
    push = _ChunkPush(
        pending,
        lambda sent: exports.put_progress(tenant_id, export_id, sent_before + sent, fence=fence),
        watch.check,
    )
    record = exports.get_export(tenant_id, export_id)
    if record is None:
        raise LookupError(f"export {export_id} of tenant {tenant_id} has no record")
    with services.poweroffice_for_export(tenant_id, record) as poweroffice:
        push.run(poweroffice, services.settings.push_concurrency)
    # Every id it got is recorded, also when the run stopped meanwhile: the run's end is recorded after this
    # (ended.py waits while the chunk is in flight), so the rollback sees every line this chunk made.
    store.record_created(tenant_id, export_id, chunk, push.created, fence=fence)
    if push.superseded is not None:
        raise push.superseded
    if push.failure is not None:
        line, error = push.failure
        if not isinstance(error, PowerOfficeError):
            raise error
        logger.warning(
            "salary line not created",
            extra={"export_id": export_id, "line": line.index, "status": error.status},
        )
        # The facts of the refusal, for the web app to say in its user's language.
        exports.update_export(
            tenant_id,
            export_id,
            {
                "push_failure": {
                    "employee_number": line.employee_number,
                    "employee_name": line.employee_name,
                    "pay_item_code": line.pay_item_code,
                    "amount": line.amount,
                    "status": error.status,
                }
            },
            run=run,
        )
        raise PushFailed(
            f"PowerOffice Go refused the salary line for employee {line.employee_number} "
            f"({line.employee_name}), pay item {line.pay_item_code}: {error.title}"
            + (f" ({error.detail})" if error.detail else "")
        )
    return {"chunk": chunk, "created": len(push.created)}


class _ChunkPush:
    """A chunk's lines POSTed by a few workers at once, paced by the pusher's limiter.

    Every created id is kept, whichever worker got it. Before each line the run is checked (`check` raises
    RunSuperseded); after the first failure or a superseded run no new line is started, the ones in flight
    finish (and are kept, so a rollback deletes them), and the failure is reported.
    """

    def __init__(
        self,
        pending: list[PlannedLine],
        report: Callable[[int], None] | None = None,
        check: Callable[[], None] | None = None,
    ) -> None:
        self._pending = iter(pending)
        self._lock = threading.Lock()
        self.created: CreatedIds = {}
        self.failure: tuple[PlannedLine, BaseException] | None = None
        self.superseded: RunSuperseded | None = None
        self._crash: BaseException | None = None
        self._report = report
        self._check = check
        self._marks = progress_marks(len(pending)) if report is not None else []
        self._reporting = False

    def run(self, poweroffice: Any, concurrency: int) -> None:
        # Each worker in a copy of this context: it belongs to this invocation (its logging, and the local
        # stack's knowledge of which invocation a thread is part of, so a killed one stops all of its threads).
        workers = [
            threading.Thread(
                target=contextvars.copy_context().run, args=(self._work, poweroffice), daemon=True
            )
            for _ in range(concurrency - 1)
        ]
        for worker in workers:
            worker.start()
        self._work(poweroffice)
        for worker in workers:
            worker.join()
        if self._crash is not None:
            raise self._crash  # the process died here: nothing more is recorded

    def _stopped(self) -> bool:
        return self.failure is not None or self.superseded is not None or self._crash is not None

    def _next(self) -> PlannedLine | None:
        with self._lock:
            line = None if self._stopped() else next(self._pending, None)
        if line is None or self._check is None:
            return line
        try:
            self._check()
        except RunSuperseded as superseded:
            with self._lock:
                self.superseded = self.superseded or superseded
            return None
        return line

    def _work(self, poweroffice: Any) -> None:
        # Loaded with the client already; imported here so that a pusher woken to an empty queue (and the
        # export steps, which import this module to enqueue) does not load PowerOffice Go's DTOs at cold start.
        from ..poweroffice.dtos import SalaryLinePost

        while (line := self._next()) is not None:
            try:
                fields = {name.lower(): Decimal(value) for name, value in line.fields.items()}
                salary_line = poweroffice.create_salary_line(
                    SalaryLinePost(
                        employee_id=line.employee_id,
                        pay_item_id=line.pay_item_id,
                        comment=line.comment,
                        external_import_reference=line.ref,
                        **fields,
                    )
                )
            except BaseException as error:  # noqa: BLE001 - reported by the caller, after every worker stopped
                with self._lock:
                    if self.failure is None or line.index < self.failure[0].index:
                        self.failure = (line, error)
                return
            try:
                crashpoints.reached("push.lines_created")  # created in Go, its id not recorded yet
            except BaseException as crash:  # noqa: BLE001 - re-raised by run(), as the process's death
                with self._lock:
                    self._crash = crash
                return
            with self._lock:
                self.created[line.index] = salary_line.id
                sent = len(self.created)
                # One writer at a time; a mark passed meanwhile is written with the next line.
                due = bool(self._marks) and not self._reporting and sent >= self._marks[0]
                if due:
                    self._reporting = True
                    while self._marks and self._marks[0] <= sent:
                        self._marks.pop(0)
            if due:
                self._progress(sent)

    def _progress(self, sent: int) -> None:
        """Write the running count (by one worker at a time, outside the lock); a failed write only skips it."""
        assert self._report is not None
        try:
            self._report(sent)
        except Exception:  # noqa: BLE001 - progress is for the eyes; the push must not fail for it
            logger.warning("progress not written", exc_info=True)
        finally:
            with self._lock:
                self._reporting = False
