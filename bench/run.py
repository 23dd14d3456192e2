"""`make bench`: one table of ratios measured in one run on this machine, each with the command that reproduces it.

    python -m bench.run                 # everything (about 10 minutes on 2 cores)
    python -m bench.run --quick         # scaled down where a figure takes minutes (said so in the table)
    python -m bench.run --only NAME     # one figure: push_throughput, month_end, month_end_mixed, month_end_1000,
                                        # month_end_40, cpu_pipeline, cold_start, workflow_cost, schedule,
                                        # snapshot_memory, abax_fetch, abax_search

One table, written by the bench: each run replaces its figures' rows in bench/results.json (with the date,
the machine and its load) and writes bench/results.md from all the rows kept there, so the table always
holds the latest measurement of every figure and says when each was made. No test asserts on these numbers:
they are measurements, and the machine may be busy with other work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.md"

# AWS list prices used for the cost per 1,000 lines (us-east-1 and eu-north-1 list the same figures
# for these three, as published in 2025): Step Functions Standard, Lambda arm64, DynamoDB on-demand.
PRICE_PER_TRANSITION = 0.025 / 1000
PRICE_PER_LAMBDA_REQUEST = 0.20 / 1_000_000
PRICE_PER_GB_SECOND_ARM = 0.0000133334
PRICE_PER_WRITE_UNIT = 0.625 / 1_000_000
PRICE_PER_READ_UNIT = 0.125 / 1_000_000
LAMBDA_MEMORY_GB = 512 / 1024  # the export steps function in infra/cdk/constructs/functions.py


@dataclass
class Row:
    figure: str
    measured: str
    target: str
    verdict: str
    command: str
    detail: dict[str, Any] = field(default_factory=dict)


def _verdict(ok: bool, ratio: str) -> str:
    return f"{ratio} {'PASS' if ok else 'MISS'}"


def _cmd(name: str, quick: bool) -> str:
    return f"python -m bench.run --only {name}" + (" --quick" if quick else "")


# --- 1. push throughput ---------------------------------------------------------------------------------


def push_throughput(quick: bool) -> list[Row]:
    from . import stackbench

    employees = 100 if quick else 300  # two salary lines each
    rows = []
    # At the documented limit, at 10 × it (our own overhead), and at the limit with replies taking 150 ms,
    # as PowerOffice Go's do across the internet: one POST at a time would then top out near 6.7 lines/s.
    for limit, latency in ((10, 0.0), (10, 0.15), (100, 0.0)):
        clients = stackbench.prepare(["push"], employees, limit)
        stackbench.set_reply_latency(latency)
        record = stackbench.export(clients["push"])
        stackbench.set_reply_latency(0)
        summary = stackbench.summarize(record)
        stats = stackbench.stats()
        lines = int(record.get("line_count") or 0)
        pushed = int(record.get("lines_pushed") or 0)
        failed = lines - pushed if record["status"] == "COMPLETED" else lines - pushed or lines
        rate = pushed / summary["push_s"] if summary["push_s"] else 0.0
        ratio = rate / limit
        ok = ratio >= 0.90 and failed == 0 and record["status"] == "COMPLETED"
        rows.append(
            Row(
                f"push throughput, {lines} lines at {limit} req/s"
                + (f", replies {latency * 1000:.0f} ms late" if latency else "")
                + (" (quick: fewer lines)" if quick else ""),
                f"{rate:.1f} lines/s over the push phase ({summary['push_s']:.1f} s), {failed} failed, "
                f"{stats.get('throttled', 0)} 429s, busiest second {stats.get('max_requests_in_any_second')}",
                "≥ 0.90 × limit, 0 failed",
                _verdict(ok, f"{ratio:.2f} × limit"),
                _cmd("push_throughput", quick),
                {
                    "limit": limit,
                    "latency_s": latency,
                    "record_status": record["status"],
                    **{k: v for k, v in summary.items() if k not in ("started", "ended")},
                    "stats": stats,
                },
            )
        )
        for client in clients.values():
            client.close()
    return rows


# --- 2. month end ----------------------------------------------------------------------------------------


def month_end(quick: bool) -> list[Row]:
    from . import stackbench

    tenants, employees = (5, 20) if quick else (20, 50)  # 2 lines per employee
    limit = 10
    clients = stackbench.prepare([f"month{n:02d}" for n in range(1, tenants + 1)], employees, limit)
    meter = stackbench.meter()
    before = meter.snapshot()
    t0, records = stackbench.exports_at_once(clients)
    writes = meter.since(before)
    summaries = {tenant: stackbench.summarize(record) for tenant, record in records.items()}
    stats = stackbench.stats()
    makespan = (max(s["ended"] for s in summaries.values()) - t0).total_seconds()
    total_lines = sum(int(r.get("line_count") or 0) for r in records.values())
    ideal = total_lines / limit
    ratio = makespan / ideal
    failed = [t for t, r in records.items() if r["status"] != "COMPLETED"]
    failed_429 = [
        t
        for t in failed
        if "429" in json.dumps(records[t].get("error"))
        or "rate" in json.dumps(records[t].get("error")).lower()
    ]
    ok = ratio <= 1.15 and not failed_429 and not failed
    for client in clients.values():
        client.close()
    return [
        Row(
            f"month end, {tenants} tenants × {total_lines // tenants} lines at once, one {limit} req/s limit"
            + (" (quick: scaled down from 20 × 100)" if quick else ""),
            f"makespan {makespan:.1f} s for {total_lines} lines (ideal {ideal:.0f} s); {len(failed)} exports failed, "
            f"{len(failed_429)} by 429; {stats.get('throttled', 0)} 429s, {stats.get('requests')} requests; "
            f"{writes['wcu']} DynamoDB WCU ({writes['wcu'] / max(total_lines, 1):.3f} per line, "
            f"lease {writes['by_kind'].get('LEASE', 0)})",
            "makespan ≤ 1.15 × lines/limit, 0 failed by 429",
            _verdict(ok, f"{ratio:.2f} ×"),
            _cmd("month_end", quick),
            {"makespan_s": makespan, "ideal_s": ideal, "failed": failed, "stats": stats, "writes": writes},
        )
    ]


# --- 3. CPU pipeline -------------------------------------------------------------------------------------


def cpu_pipeline(quick: bool) -> list[Row]:
    from . import cpu

    drivers = 1000 if quick else 5000
    result = cpu.measure(drivers, 60, runs=1 if quick else 2)
    mb = 1024 * 1024
    ok = result["ratio"] <= 3.0
    return [
        Row(
            f"CPU pipeline, {result['trips_in_json']:,} trips of {drivers:,} drivers"
            + (" (quick: 60,000 trips)" if quick else ""),
            f"adapter + logbooks + validation + {result['lines']:,} lines {result['pipeline_s']:.2f} s vs json.loads "
            f"{result['parse_s']:.2f} s of {result['json_bytes'] / mb:.0f} MB; peak memory {result['peak_bytes'] / mb:.0f} MB "
            f"= {result['peak_bytes'] / result['json_bytes']:.2f} × the JSON (json.loads itself peaks at {result['parse_peak_bytes'] / result['json_bytes']:.2f} ×)",
            "≤ 3 × json parse",
            _verdict(ok, f"{result['ratio']:.2f} ×"),
            _cmd("cpu_pipeline", quick),
            result,
        )
    ]


# --- 4. cold start ---------------------------------------------------------------------------------------


def cold_start(quick: bool) -> list[Row]:
    from . import coldstart

    result = coldstart.measure(runs=3 if quick else 7)
    base = result["medians"][coldstart.BASELINE]
    each = ", ".join(
        f"{name.removeprefix('functions.')} {result['medians'][name] * 1000:.0f} ms"
        for name in coldstart.HANDLERS
    )
    ok = result["ratio"] <= 1.5
    return [
        Row(
            "cold start: import of each handler vs `import boto3`",
            f"boto3 {base * 1000:.0f} ms; {each} (median of {result['runs']})",
            "≤ 1.5 × boto3",
            _verdict(ok, f"{result['ratio']:.2f} × (worst: {result['worst'].removeprefix('functions.')})"),
            _cmd("cold_start", quick),
            result,
        )
    ]


# --- 5. workflow cost ------------------------------------------------------------------------------------


def workflow_cost(quick: bool) -> list[Row]:
    from . import stackbench

    sizes = (100, 1000) if quick else (100, 1000, 10_000)
    limit = 1000
    rows = []
    per_size = {}
    for lines_wanted in sizes:
        clients = stackbench.prepare(["cost"], lines_wanted // 2, limit)
        meter = stackbench.meter()
        before = meter.snapshot()
        record = stackbench.export(clients["cost"], timeout=3600)
        writes = meter.since(before)
        summary = stackbench.summarize(record)
        lines = int(record.get("line_count") or 0)
        assert record["status"] == "COMPLETED", record.get("error")
        per_size[lines] = (summary, writes, record)
        for client in clients.values():
            client.close()
    for lines, (summary, writes, _record) in per_size.items():
        chunks = int(summary["chunks"])
        wcu_per_line = writes["wcu"] / lines
        lambda_s = summary["lambda_seconds"]
        cost = (
            summary["transitions"] * PRICE_PER_TRANSITION
            + summary["lambda_invocations"] * PRICE_PER_LAMBDA_REQUEST
            + lambda_s * LAMBDA_MEMORY_GB * PRICE_PER_GB_SECOND_ARM
            + writes["wcu"] * PRICE_PER_WRITE_UNIT
        )
        per_1000 = cost / lines * 1000
        kinds = ", ".join(
            f"{kind} {units}" for kind, units in sorted(writes["by_kind"].items(), key=lambda kv: -kv[1])
        )
        ok = wcu_per_line <= 0.2
        rows.append(
            Row(
                f"workflow cost, export of {lines:,} lines ({chunks} chunk{'s' if chunks != 1 else ''})",
                f"{summary['transitions']} state transitions ({summary['transitions'] / max(chunks, 1):.1f} per chunk, "
                f"{summary['transitions'] / lines:.3f} per line), {summary['lambda_invocations']} Lambda invocations "
                f"({lambda_s:.1f} s), {writes['wcu']} DynamoDB WCU [{kinds}]; ${per_1000:.4f} per 1,000 lines",
                "transitions ∝ chunks; WCU per line ≤ 0.2",
                _verdict(ok, f"{wcu_per_line:.3f} WCU/line"),
                _cmd("workflow_cost", quick),
                {
                    "summary": {k: v for k, v in summary.items() if k not in ("started", "ended")},
                    "writes": writes,
                    "cost_per_1000": per_1000,
                },
            )
        )
    return rows


# --- schedule: one start per due tenant -------------------------------------------------------------


def schedule(quick: bool) -> list[Row]:
    from . import stackbench

    tenants = 200 if quick else 1000
    result = stackbench.schedule_fan_out(tenants)
    ok = result["started"] == tenants and result["failed"] == 0 and result["dead_letters"] == 0
    per_start_ms = 1000 * result["elapsed_s"] / tenants
    return [
        Row(
            f"schedule: {tenants:,} due tenants started",
            f"{result['started']:,} started ({result['executions']:,} executions), {result['failed']} failed, "
            f"{result['dead_letters']} dead-lettered in {result['elapsed_s']:.1f} s ({per_start_ms:.0f} ms a start, "
            f"{result['invocations']} scheduled-start invocations of ≤ 10); the daily run queued them in "
            f"{result['dispatch_s']:.1f} s; executions are a one-state machine here (the export's own work is the "
            "other rows)",
            "every due tenant started, 0 failed; no invocation near its timeout",
            _verdict(ok, f"{result['started']}/{tenants}"),
            _cmd("schedule", quick),
            result,
        )
    ]


def snapshot_memory(quick: bool) -> list[Row]:
    from . import snapshotbench

    drivers = 1000 if quick else 5000
    result = snapshotbench.measure(drivers)
    mb = 1024 * 1024
    ok = result["peak_bytes"] < 1024 * mb and result["largest_object_bytes"] < 400 * 1024
    return [
        Row(
            f"export of {result['trips']:,} trips: the snapshot read as Validate and Group read it"
            + (" (quick: 60,000 trips)" if quick else ""),
            f"{result['calls']:,} ABAX calls kept as {result['calls']:,} S3 objects, {result['stored_bytes'] / mb:.0f} MB "
            f"gzipped (largest {result['largest_object_bytes'] / 1024:.0f} KB); read into {result['domain_trips']:,} domain "
            f"trips one page at a time: peak {result['peak_bytes'] / mb:.0f} MB traced ({result['read_s']:.1f} s under "
            "tracemalloc); at 60 calls a minute the fetch takes "
            f"{result['calls'] / 60:.0f} min, {-(-result['calls'] // 600)} Fetch pieces of ≤ 10 min",
            "peak < 1 GB (the function's memory); every object < 400 KB",
            _verdict(ok, f"{result['peak_bytes'] / (1024 * mb):.2f} GB"),
            _cmd("snapshot_memory", quick),
            result,
        )
    ]


# --- ABAX reads: the Fetch loop and the search, under ABAX's per-minute limit ---------------------------


def abax_fetch(quick: bool) -> list[Row]:
    from . import abaxbench

    # 300,000 trips (5,000 drivers × 60) are ~2,100 calls: 35 min at ABAX's 60 a minute. The limit is scaled
    # up 4 × (240 calls a minute; the emulator's window stays ABAX's 60 s) so the run takes about 9 min, and
    # the Fetch step's budget is cut to 3 min (FETCH_SECONDS; 10 min in AWS) so the month spans several
    # invocations as it does at 60 a minute. --quick: 18,000 trips at ABAX's own limit.
    drivers, limit, piece_s = (300, 60, 600) if quick else (5000, 240, 180)
    r = abaxbench.fetch_month(drivers, limit, piece_seconds=piece_s)
    floor_min = r["calls"] / limit
    per_minute = r["calls"] / (r["wall_s"] / 60) if r["wall_s"] else 0.0
    wall_ratio = r["wall_s"] / 60 / floor_min if floor_min else 0.0
    ok = per_minute >= 0.9 * limit and not r["failures"] and r["status"] == "READY" and wall_ratio <= 1.15
    scaled = (
        "" if limit == 60 else f" (scaled up from ABAX's 60; Fetch pieces of ≤ {piece_s} s instead of 600 s)"
    )
    return [
        Row(
            f"ABAX fetch of a {r['trips']:,}-trip month: the ExportSteps function's Fetch step in a loop, ABAX "
            f"emulator limit {limit} calls/min{scaled}",
            f"{r['calls']:,} calls in {r['wall_s']:.1f} s = {per_minute:.0f} calls/min ({per_minute / limit:.2f} × limit); "
            f"busiest 60 s {r['busiest_minute']} calls; "
            f"{r['throttled']} 429s waited out, {len(r['failures'])} failed pieces; {r['pieces']} Fetch pieces; "
            f"snapshot {r['status']} with {r['trips_read']:,} trips; floor calls/limit = {floor_min * 60:.0f} s",
            "≥ 0.9 × limit calls/min, 0 failures on 429, wall ≤ 1.15 × calls/limit",
            _verdict(ok, f"{per_minute / limit:.2f} × limit, wall {wall_ratio:.2f} × floor"),
            _cmd("abax_fetch", quick),
            r,
        )
    ]


def abax_search(quick: bool) -> list[Row]:
    from . import abaxbench

    # 9,000 trips (150 drivers × 60) at ABAX's own limit, 60 calls a minute: not scaled.
    drivers, limit = (150, 60)
    r = abaxbench.search_month(drivers, limit)
    floor_s = r["calls"] / limit * 60
    ok = r["first_answer_s"] <= 29 and r["final_status"] == 200 and r["result_status"] == "READY"
    return [
        Row(
            f"search of a {r['trips']:,}-trip month (POST /v1/exports/preview, then the preview polled), ABAX at its "
            f"{limit} calls/min",
            f"first answer {r['first_answer_s']:.1f} s ({r['first_status']}); complete result {r['complete_s']:.1f} s "
            f"({r['final_status']}, {r['result_status']}) for {r['calls']} ABAX calls, {r['throttled']} 429s waited out, busiest 60 s "
            f"{r['busiest_minute']} calls; ABAX floor calls/limit = {floor_s:.0f} s",
            "first answer ≤ 29 s; complete vs the ABAX floor",
            _verdict(
                ok, f"first {r['first_answer_s']:.1f} s, complete {r['complete_s'] / floor_s:.2f} × floor"
            ),
            _cmd("abax_search", quick),
            r,
        )
    ]


# Memory of each function the local stack runs tasks in (infra/cdk/constructs/functions.py), for GB-s.
FUNCTION_MEMORY_GB = {
    "abax-payroll-export-steps": 1.0,
    "abax-payroll-rollback": 0.25,
    "abax-payroll-pusher": 0.5,
}


def _month_end(
    name: str, sizes: dict[str, int], scale: int, quick: bool, target_ratio: float, what: str
) -> list[Row]:
    """Every tenant of `sizes` (employees, 2 lines each) starts its October export at once, PowerOffice Go at its
    own 10 requests/s; both emulators in a process of their own, as the real services run elsewhere than the
    product (the local stack: handlers, moto, the gateway, keeps this process). Measured besides the makespan:
    Lambda environments (started, most busy at once), Lambda GB-s (every task invocation, waiting included:
    local/lambda_runtime.py), the busiest DynamoDB item's reads and writes in any second (bench/item_heat.py),
    small tenants' p95 finish, and every company's lines in Go against its record (each exactly once)."""
    import statistics

    from local import lambda_runtime

    from . import stackbench

    limit = 10  # PowerOffice Go's limit per subscription key, req/s: not scaled
    abax, poweroffice = stackbench.sized_companies(sizes)
    tenants = len(sizes)
    with stackbench.emulators_elsewhere(abax, poweroffice):
        began = time.perf_counter()
        clients = stackbench.serve_companies(abax, poweroffice, limit)
        setup_s = time.perf_counter() - began
        heat = stackbench.heat()
        heat.reset()
        lambda_runtime.reset_environment_counts()
        load_before = os.getloadavg()[0]
        cpu_before = stackbench.cpu_seconds()
        t0, starting, records = stackbench.exports_started_together(clients)
        cpu = {k: v - cpu_before.get(k, 0.0) for k, v in stackbench.cpu_seconds().items()}
        load_after = os.getloadavg()[0]
        environments = lambda_runtime.environments()
        hottest = heat.busiest()
        dynamodb = heat.totals()
        stats = stackbench.stats()
        since = time.monotonic() - (datetime.now(UTC) - t0).total_seconds()
        at = stackbench.timeline(since, limit)
        inexact = stackbench.inexact_tenants(records)
    summaries = {tenant: stackbench.summarize(record) for tenant, record in records.items()}
    transitions = sum(stackbench.transitions(record["execution_arn"]) for record in records.values())
    finish = {tenant: (s["ended"] - t0).total_seconds() for tenant, s in summaries.items()}
    lines = {tenant: int(r.get("line_count") or 0) for tenant, r in records.items()}
    makespan = max(finish.values())
    total_lines = sum(lines.values())
    ideal = total_lines / limit
    ratio = makespan / ideal
    small = sorted(finish[t] for t in records if lines[t] * scale <= 200) or sorted(finish.values())
    p95_small = small[max(0, round(0.95 * len(small)) - 1)]
    failed = [t for t, r in records.items() if r["status"] != "COMPLETED"]
    requests = int(stats.get("requests") or 0)
    everything = environments.pop("all")
    gb_s = sum(FUNCTION_MEMORY_GB.get(fn, 1.0) * counts["seconds"] for fn, counts in environments.items())
    peak = int(everything["peak_busy"])
    # Lambda requests: every task invocation (a one-chunk export makes 7) and the pusher's; a price of $0.20 per
    # million, far below the rest, so counted from the tasks rather than measured.
    invocations = len(records) * 7
    per_1000 = 1000 / max(total_lines, 1)
    cost = per_1000 * (
        transitions * PRICE_PER_TRANSITION
        + gb_s * PRICE_PER_GB_SECOND_ARM
        + invocations * PRICE_PER_LAMBDA_REQUEST
        + dynamodb["writes"] * PRICE_PER_WRITE_UNIT
        + dynamodb["reads"] * PRICE_PER_READ_UNIT
    )
    ok = ratio <= target_ratio and not failed and not inexact and peak <= 10
    for client in clients.values():
        client.close()
    per_function = ", ".join(
        f"{fn.removeprefix('abax-payroll-')} {int(c['started'])} started / {int(c['peak_busy'])} at once / "
        f"{c['seconds']:.0f} s"
        for fn, c in environments.items()
    )
    return [
        Row(
            f"month end, {what}: {tenants} tenants at once ({min(lines.values())}–{max(lines.values())} lines"
            + (f", every line count ÷ {scale}" if scale > 1 else "")
            + f"), one PowerOffice limit of {limit} req/s (PowerOffice Go's own); both emulators in a process of "
            "their own" + (" (quick: fewer tenants)" if quick else ""),
            f"makespan {makespan:.1f} s for {total_lines} lines (floor lines/limit {ideal:.0f} s; every PowerOffice "
            f"request, lookups included, / limit {requests / limit:.0f} s: {makespan / max(requests / limit, 1):.2f} ×), "
            f"from the first start; Lambda environments: {int(everything['started'])} started, at most {peak} busy at once "
            f"({per_function}); {gb_s:.1f} GB-s = {gb_s * 1000 / max(total_lines, 1):.2f} GB-s per 1,000 lines "
            f"(waiting included); {int(everything.get('throttled', 0))} ExportSteps invokes throttled (each a retry in "
            f"Step Functions); {transitions} state transitions ({transitions * per_1000:.0f} per 1,000 lines), "
            f"DynamoDB {dynamodb['reads']} item reads and {dynamodb['writes']} item writes "
            f"({dynamodb['reads'] * per_1000:.0f} and {dynamodb['writes'] * per_1000:.0f} per 1,000 lines): "
            f"${cost:.4f} per 1,000 lines in AWS (list prices below); busiest DynamoDB item: {hottest['reads_per_s']} reads in one second "
            f"({hottest['read_item'].split('|')[-1].split('#')[0]}), {hottest['writes_per_s']} writes in one second "
            f"({hottest['write_item'].split('|')[-1].split('#')[0]}); small tenants (≤ 200 lines unscaled, "
            f"{len(small)}): p95 finish {p95_small:.1f} s, median {statistics.median(small):.1f} s; "
            f"{len(failed)} failed, {len(inexact)} with lines in Go other than exactly their own once; "
            f"{requests} PowerOffice requests, {stats.get('throttled', 0)} 429s, busiest second "
            f"{stats.get('max_requests_in_any_second')}; first line at {at.get('first_line_s') or 0:.1f} s, "
            f"{at.get('idle_between_s', 0):.1f} s idle between requests; starts (8 callers) {starting:.1f} s; "
            f"set-up {setup_s:.0f} s; CPU: local stack {cpu['stack']:.0f} s ({cpu['stack'] / makespan:.0%} of a "
            f"core), emulators {cpu.get('emulators', 0):.0f} s; load average {load_before:.1f} → {load_after:.1f} "
            f"on {os.cpu_count()} CPUs",
            f"makespan ≤ {target_ratio} × floor, ≤ 10 Lambda environments at once, 0 failed, every line exact",
            _verdict(ok, f"{ratio:.2f} ×, {peak} at once"),
            _cmd(name, quick),
            {
                "makespan_s": makespan,
                "ideal_s": ideal,
                "environments": {**environments, "all": everything},
                "gb_s": gb_s,
                "transitions": transitions,
                "dynamodb": dynamodb,
                "cost_per_1000_lines": cost,
                "throttled": int(everything.get("throttled", 0)),
                "hottest_item": hottest,
                "finish": finish,
                "lines": lines,
                "failed": failed,
                "inexact": inexact,
                "stats": stats,
                "timeline": {k: v for k, v in at.items() if k != "log"},
                "cpu_s": cpu,
            },
        )
    ]


def _spread(tenants: int, scale: int) -> dict[str, int]:
    """Employees per tenant: line counts spread evenly over 20–2,000, ÷ `scale`, 2 lines per employee."""
    return {
        f"me{n:04d}": max(1, round((20 + (2000 - 20) * n / max(1, tenants - 1)) / scale / 2))
        for n in range(tenants)
    }


def month_end_mixed(quick: bool) -> list[Row]:
    """100 tenants of 20–2,000 lines, every line count ÷ 20 (2–100 lines), at PowerOffice Go's own limit."""
    return _month_end("month_end_mixed", _spread(30 if quick else 100, 20), 20, quick, 1.05, "100 companies")


def month_end_1000(quick: bool) -> list[Row]:
    """1,000 tenants of 20–2,000 lines, every line count ÷ 100 (2–20 lines): about 10,000 lines, 17 minutes."""
    return _month_end(
        "month_end_1000", _spread(200 if quick else 1000, 100), 100, quick, 1.05, "1,000 companies"
    )


def month_end_40(quick: bool) -> list[Row]:
    """40 companies of 4 drivers start together (issue 20's measurement: 40 environments just to wait, 1.45 ×)."""
    sizes = {f"forty{n:02d}": 4 for n in range(20 if quick else 40)}
    return _month_end("month_end_40", sizes, 1, quick, 1.3, "40 companies of 4 drivers")


FIGURES: dict[str, Callable[[bool], list[Row]]] = {
    "cold_start": cold_start,
    "cpu_pipeline": cpu_pipeline,
    "push_throughput": push_throughput,
    "month_end": month_end,
    "workflow_cost": workflow_cost,
    "schedule": schedule,
    "snapshot_memory": snapshot_memory,
    "abax_fetch": abax_fetch,
    "abax_search": abax_search,
    "month_end_mixed": month_end_mixed,
    "month_end_1000": month_end_1000,
    "month_end_40": month_end_40,
}


def machine() -> str:
    date = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    return (
        f"{date}; {platform.machine()} ({os.uname().machine}), {os.cpu_count()} CPUs (nproc), "
        f"Python {platform.python_version()}, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


def table(rows: list[Row]) -> str:
    out = ["| figure | measured | target | ratio / verdict | command |", "|---|---|---|---|---|"]
    for row in rows:
        out.append(f"| {row.figure} | {row.measured} | {row.target} | {row.verdict} | `{row.command}` |")
    return "\n".join(out)


PRICES_NOTE = (
    "Prices: AWS list prices (us-east-1 = eu-north-1 for these, 2025): Step Functions Standard $0.025 per 1,000 state "
    "transitions; Lambda $0.20 per 1M requests + $0.0000133334 per GB-s (arm64, 512 MB, duration = the handlers' "
    "in-process time measured here); DynamoDB on-demand $0.625 per million write request units. "
    "WCU: every boto3 DynamoDB write seen by a botocore before-/after-call hook, ceil(max(item size before, after) / 1 KB), "
    "min 1, ×2 in transactions (bench/dynamo_meter.py). Transitions: state-entered events of get_execution_history."
)


RESULTS_JSON = ROOT / "bench" / "results.json"


def write_results(names: list[str], rows: list[Row], header: str) -> None:
    """Replace these figures' rows in bench/results.json and write bench/results.md from every row kept."""
    kept: dict[str, list[dict[str, Any]]] = (
        json.loads(RESULTS_JSON.read_text(encoding="utf-8")) if RESULTS_JSON.exists() else {}
    )
    measured = machine()
    for name in names:
        kept[name] = [
            {**{k: v for k, v in row.__dict__.items() if k != "detail"}, "when": measured}
            for row in rows
            if row.command.split("--only ", 1)[-1].split()[0] == name
        ]
    RESULTS_JSON.write_text(json.dumps(kept, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    out = ["| figure | measured | target | ratio / verdict | command | when |", "|---|---|---|---|---|---|"]
    for name in FIGURES:
        for row in kept.get(name, []):
            out.append(
                f"| {row['figure']} | {row['measured']} | {row['target']} | {row['verdict']} | "
                f"`{row['command']}` | {row['when']} |"
            )
    RESULTS.write_text(
        "# Benchmark results (written by `python -m bench.run`; each row's own date, machine and load)\n\n"
        + "Figures never measured since this table is kept by the bench are missing; run their command.\n\n"
        + "\n".join(out)
        + "\n\n"
        + PRICES_NOTE
        + "\n",
        encoding="utf-8",
    )
    del header


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", choices=sorted(FIGURES), action="append", help="run one figure (repeatable)"
    )
    parser.add_argument("--quick", action="store_true", help="scaled-down runs where a figure takes minutes")
    parser.add_argument("--json", type=Path, help="also write every figure's details as JSON here")
    args = parser.parse_args(argv)
    names = args.only or list(FIGURES)
    sys.path.insert(0, str(ROOT))  # tests.hardening.companies and tests.support
    rows: list[Row] = []
    started = time.monotonic()
    try:
        for name in names:
            t = time.monotonic()
            try:
                rows += FIGURES[name](args.quick)
            except Exception as error:  # noqa: BLE001 - one broken figure must not hide the others
                traceback.print_exc()
                rows.append(
                    Row(
                        name,
                        f"did not run: {type(error).__name__}: {str(error)[:300]}",
                        "",
                        "ERROR",
                        _cmd(name, args.quick),
                    )
                )
            print(f"[bench] {name} took {time.monotonic() - t:.0f} s", file=sys.stderr, flush=True)
    finally:
        from . import stackbench

        stackbench.stop()
    text = table(rows)
    header = (
        f"Measured {machine()}; whole run {time.monotonic() - started:.0f} s"
        + (" (--quick)" if args.quick else "")
        + "."
    )
    print()
    print(header)
    print(text)
    print()
    print(PRICES_NOTE)
    write_results(names, rows, header)
    if args.json:
        args.json.write_text(
            json.dumps([row.__dict__ for row in rows], indent=2, default=str), encoding="utf-8"
        )
    return 1 if any(row.verdict == "ERROR" for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
