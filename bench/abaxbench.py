"""ABAX reads as the product makes them, against the ABAX emulator with its per-minute limit enforced.

- `fetch_month`: the export's Fetch step (`fetching.fetch_piece`, one call per state-machine step) run
  piece after piece until the snapshot is READY, as the state machine's Fetch loop runs it.
- `search_month`: the payroll administrator's search (`POST /v1/exports/preview` through the local API
  gateway), then the preview resource polled until the result is complete.

429s are counted where the emulator refuses a request (its rate slot), so a 429 the client waits out is seen
even though it is not a failure.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from abax_payroll.domain.period import Period

from . import cpu, stackbench

MONTH = Period.parse("2026-10-01", "2026-10-31")


class _RateCounter:
    """Counts the emulator's answers to its rate slot: allowed and refused (429)."""

    def __init__(self, emulator: Any):
        self.emulator, self.allowed, self.refused = emulator, 0, 0
        self.times: list[float] = []  # time.perf_counter() of every allowed request
        self._original = emulator.take_rate_slot
        self._lock = threading.Lock()

    def __enter__(self) -> _RateCounter:
        def counted(client_id: str) -> tuple[bool, dict[str, str]]:
            allowed, headers = self._original(client_id)
            with self._lock:
                if allowed:
                    self.allowed += 1
                    self.times.append(time.perf_counter())
                else:
                    self.refused += 1
            return allowed, headers

        self.emulator.take_rate_slot = counted
        return self

    def __exit__(self, *exc: object) -> None:
        self.emulator.take_rate_slot = self._original


def _set_abax_limit(s: Any, requests_per_minute: int) -> None:
    """The emulator's limit and the product's pacing (ABAX_REQUESTS_PER_WINDOW), both at once."""
    import os

    from abax_payroll.workflow.services import reset_services

    s.abax.set_rate_limit(requests_per_minute)
    os.environ["ABAX_REQUESTS_PER_WINDOW"] = str(requests_per_minute)
    reset_services()


def _busiest_minute(times: list[float]) -> int:
    """The most requests ABAX let through in any 60 s (its window)."""
    busiest, first = 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - 60.0:
            first += 1
        busiest = max(busiest, last - first + 1)
    return busiest


def _tenant_with_month(tenant: str, drivers: int, trips_per_driver: int) -> tuple[Any, Any, int]:
    """A connected tenant whose ABAX organisation has a month of `drivers` × `trips_per_driver` trips."""
    clients = stackbench.prepare([tenant], 1, 100)
    data = json.loads(cpu.abax_json(drivers, trips_per_driver))
    s = stackbench.stack()
    s.abax.add_data(tenant, data["trips"], data["expenses"])
    return s, clients[tenant], len(data["trips"])


def fetch_month(
    drivers: int, requests_per_minute: int, trips_per_driver: int = 60, piece_seconds: float = 600.0
) -> dict[str, Any]:
    """The ExportSteps function (its handler, role and environment) runs Fetch pieces until the snapshot is READY."""
    import os

    from abax_payroll.workflow import fetching
    from abax_payroll.workflow.services import services
    from local.aws import _load_handler
    from local.lambda_runtime import LocalContext

    tenant = "fetchbench"
    s, client, trips = _tenant_with_month(tenant, drivers, trips_per_driver)
    client.close()
    snapshot_id = f"bench{time.time_ns()}"
    steps = s.aws.as_function("ExportSteps", _load_handler("functions.export.steps:handler"))
    create = s.aws.as_function(
        "ExportSteps",
        lambda event, context: services().store.snapshots.create(
            tenant, snapshot_id, fetching.new_snapshot(MONTH, "search")
        ),
    )
    create({}, None)
    os.environ["FETCH_SECONDS"] = str(piece_seconds)
    _set_abax_limit(s, requests_per_minute)  # also rebuilds the services, so FETCH_SECONDS is read
    pieces, failures = 0, []
    # The state machine's Fetch loop: the step again while it answers done = false (a failed piece is retried).
    event = {"kind": "search", "step": "fetch", "tenant_id": tenant, "preview_id": snapshot_id}
    with _RateCounter(s.abax) as counter:
        began = time.perf_counter()
        while True:
            pieces += 1
            try:
                answer = steps(event, LocalContext(function_name="ExportSteps"))
            except Exception as error:  # noqa: BLE001 - a failed piece is what the row counts
                failures.append(f"{type(error).__name__}: {error}"[:200])
                if len(failures) > 5:
                    break
                continue
            if answer["done"]:
                break
        wall = time.perf_counter() - began
    read = s.aws.as_function(
        "ExportSteps", lambda event, context: services().store.snapshots.get(tenant, snapshot_id)
    )
    snapshot = read({}, None) or {}
    os.environ.pop("FETCH_SECONDS", None)
    _set_abax_limit(s, 60)
    return {
        "busiest_minute": _busiest_minute(counter.times),
        "trips": trips,
        "trips_read": int(snapshot.get("trips_read", 0)),
        "calls": int(snapshot.get("calls", 0)),
        "requests_allowed": counter.allowed,
        "throttled": counter.refused,
        "failures": failures,
        "pieces": pieces,
        "wall_s": wall,
        "status": snapshot.get("status"),
        "limit_per_minute": requests_per_minute,
    }


def search_month(
    drivers: int, requests_per_minute: int, trips_per_driver: int = 60, timeout: float = 900
) -> dict[str, Any]:
    tenant = "searchbench"
    s, client, trips = _tenant_with_month(tenant, drivers, trips_per_driver)
    _set_abax_limit(s, requests_per_minute)
    polls = 0
    progress: list[tuple[float, Any]] = []
    with _RateCounter(s.abax) as counter:
        began = time.perf_counter()
        response = client.post("/exports/preview", json={"from": "2026-10-01", "to": "2026-10-31"})
        first = time.perf_counter() - began
        first_status = response.status_code
        body = response.json()
        final_status = first_status
        while response.status_code == 202 or (
            response.status_code == 200 and body.get("status") == "RUNNING"
        ):
            if time.perf_counter() - began > timeout:
                raise TimeoutError(f"search still running after {timeout} s: {body.get('progress')}")
            time.sleep(1.0)
            polls += 1
            response = client.get(f"/exports/previews/{body['preview_id']}")
            body = response.json()
            progress.append((round(time.perf_counter() - began, 1), body.get("progress")))
            final_status = response.status_code
        complete = time.perf_counter() - began
    client.close()
    _set_abax_limit(s, 60)
    calls = int((body.get("progress") or {}).get("calls") or counter.allowed)
    return {
        "trips": trips,
        "first_answer_s": first,
        "first_status": first_status,
        "complete_s": complete,
        "final_status": final_status,
        "result_status": body.get("status"),
        "lines": len(body.get("lines") or []),
        "calls": calls,
        "requests_allowed": counter.allowed,
        "throttled": counter.refused,
        "polls": polls,
        "busiest_minute": _busiest_minute(counter.times),
        "progress_seen": progress[:: max(1, len(progress) // 8)],
        "limit_per_minute": requests_per_minute,
    }
