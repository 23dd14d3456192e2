"""The local stack as the benchmarks use it: synthetic tenants, rate limits, exports and what they cost."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

_stack: Any = None
_meter: Any = None
_emulators_url: str | None = None  # the emulators' own process, while `emulators_elsewhere` runs
_emulators_pid: int | None = None


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) used so far by this process (the local stack) and the emulators' process."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    seconds = {"stack": usage.ru_utime + usage.ru_stime}
    if _emulators_pid is not None:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{_emulators_pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds["emulators"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def poweroffice_url() -> str:
    return f"{_emulators_url or stack().url}/emulators/poweroffice"


@contextlib.contextmanager
def emulators_elsewhere(abax: dict[str, Any], poweroffice: dict[str, Any]) -> Iterator[str]:
    """Both emulators in a process of their own (`abax-payroll local emulators`) serving these companies,
    and the functions pointed at it for the block, as PowerOffice Go and ABAX run elsewhere than the
    product: what the emulators cost is then not taken from the CPU the local stack measures on."""
    global _emulators_url, _emulators_pid
    stack()  # first: the quiet logging the functions' loggers read at import, and the PowerOffice keys
    from abax_payroll.workflow.services import reset_services
    from local.servers import free_port, wait_for_health

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for name, data in (("abax", abax), ("poweroffice", poweroffice)):
            files[name] = Path(folder) / f"{name}.json"
            files[name].write_text(json.dumps(data), encoding="utf-8")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.cli",
                "local",
                "emulators",
                "--port",
                str(port),
                "--abax-data",
                str(files["abax"]),
                "--poweroffice-data",
                str(files["poweroffice"]),
            ],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.DEVNULL,
        )
        endpoints = {
            "POWEROFFICE_API_URL": f"{url}/emulators/poweroffice/v2",
            "POWEROFFICE_TOKEN_URL": f"{url}/emulators/poweroffice/OAuth/Token",
            "ABAX_API_URL": f"{url}/emulators/abax",
            "ABAX_TOKEN_URL": f"{url}/emulators/abax/connect/token",
        }
        before = {name: os.environ.get(name) for name in endpoints}
        try:
            wait_for_health(url, process, timeout=60)
            os.environ.update(endpoints)
            reset_services()
            _emulators_url = url
            _emulators_pid = process.pid
            yield url
        finally:
            _emulators_url = None
            _emulators_pid = None
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            reset_services()
            process.terminate()
            process.wait(timeout=30)


def quiet_environment() -> None:
    """The functions' JSON logs and metrics would flood the table; what they cost is not what we measure."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("abax_payroll").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def stack() -> Any:
    """One local stack per process (moto is process-wide), with the DynamoDB write meter installed first."""
    global _stack, _meter
    if _stack is None:
        quiet_environment()
        from local.aws import ACCOUNT, REGION
        from local.stack import LocalStack

        from .dynamo_meter import DynamoWriteMeter

        _stack = LocalStack().start()
        # After moto started (it replaces boto3's default session); services built from now on inherit the hooks.
        _meter = DynamoWriteMeter(ACCOUNT, REGION).install()
        from abax_payroll.workflow.services import reset_services

        reset_services()
    return _stack


def meter() -> Any:
    stack()
    return _meter


_heat: Any = None


def heat() -> Any:
    """The busiest-item counter (bench/item_heat.py), installed once on the stack's boto3 session."""
    global _heat
    stack()
    if _heat is None:
        from .item_heat import ItemHeat

        _heat = ItemHeat().install()
        from abax_payroll.workflow.services import reset_services

        reset_services()  # clients built from now on carry its hooks
    return _heat


def inexact_tenants(records: dict[str, dict[str, Any]]) -> list[str]:
    """Tenants whose lines in PowerOffice Go are not exactly their export's, each once (by reference)."""
    from tests.hardening.companies import client_key

    wrong = []
    with httpx.Client(timeout=60) as client:  # one client: each new one builds a TLS context (~20 ms of CPU)
        for tenant, record in records.items():
            answer = client.get(
                f"{poweroffice_url()}/_control/salary-lines", params={"client_key": client_key(tenant)}
            )
            answer.raise_for_status()
            references = [line.get("ExternalImportReference") for line in answer.json()["salary_lines"]]
            if len(references) != len(set(references)) or len(references) != int(
                record.get("line_count") or -1
            ):
                wrong.append(tenant)
    return wrong


def stop() -> None:
    global _stack
    if _stack is not None:
        _stack.stop()
        _stack = None


def set_rate_limit(requests_per_second: float) -> None:
    """The emulator's limit per subscription key and the product's own pacing, both at once."""
    stack()
    httpx.put(
        f"{poweroffice_url()}/_control/rate-limit",
        json={"requests_per_second": requests_per_second},
        timeout=10,
    ).raise_for_status()
    os.environ["POWEROFFICE_REQUESTS_PER_SECOND"] = str(requests_per_second)
    from abax_payroll.poweroffice import shared_limiter
    from abax_payroll.workflow.services import reset_services, services

    reset_services()
    config = services().settings
    limiter = shared_limiter(
        config.poweroffice_subscription_key.get_secret_value(), config.poweroffice_requests_per_second
    )
    assert limiter.requests_per_second == requests_per_second, (
        limiter.requests_per_second,
        requests_per_second,
    )


def set_reply_latency(seconds: float) -> None:
    """Every POST /SalaryLines answers `seconds` late, as a service across the internet does (0: none)."""
    rules = (
        [{"method": "POST", "path": "/SalaryLines", "status": None, "delay_s": seconds, "times": 10**9}]
        if seconds
        else []
    )
    httpx.post(f"{poweroffice_url()}/_control/faults", json={"rules": rules}, timeout=10).raise_for_status()


def stats(reset: bool = False) -> dict[str, int]:
    if reset:
        httpx.post(f"{poweroffice_url()}/_control/stats/reset", timeout=10).raise_for_status()
        return {}
    return dict(httpx.get(f"{poweroffice_url()}/_control/stats", timeout=30).json())


def timeline(since_monotonic: float, limit: float) -> dict[str, Any]:
    """Where a run's time went at PowerOffice, from the emulator's request log (its clock is the machine's
    monotonic one, which the emulators' own process shares): first and last request after
    `since_monotonic`, and the time no request could have been sent (gaps beyond 1/limit between
    consecutive accepted requests)."""
    log = httpx.get(f"{poweroffice_url()}/_control/requests", timeout=60).json()["requests"]
    accepted = sorted(r["at"] for r in log if r["status"] != 429 and r["at"] >= since_monotonic)
    posts = sorted(r["at"] for r in log if r["method"] == "POST" and r["path"].endswith("/SalaryLines"))
    if not accepted:
        return {}
    gaps = [b - a for a, b in zip(accepted, accepted[1:], strict=False)]
    idle = sum(max(0.0, gap - 1.0 / limit) for gap in gaps)
    long_gaps = [gap for gap in gaps if gap >= 0.5]
    return {
        "first_request_s": accepted[0] - since_monotonic,
        "first_line_s": (posts[0] - since_monotonic) if posts else None,
        "last_request_s": accepted[-1] - since_monotonic,
        "idle_between_s": idle,
        "gaps_over_half_second": len(long_gaps),
        "in_gaps_over_half_second_s": sum(long_gaps),
        "gap_histogram": {
            f"{low}-{high}": [
                sum(1 for gap in gaps if low <= gap < high),
                round(sum(gap for gap in gaps if low <= gap < high), 1),
            ]
            for low, high in ((0, 0.1), (0.1, 0.15), (0.15, 0.2), (0.2, 0.3), (0.3, 0.5), (0.5, 1), (1, 99))
        },
        "log": [
            [round(r["at"] - since_monotonic, 3), r["method"], r["path"], r["status"]]
            for r in log
            if r["at"] >= since_monotonic
        ],
        "throttled_at": [
            round(r["at"] - since_monotonic, 2)
            for r in log
            if r["status"] == 429 and r["at"] >= since_monotonic
        ],
        "accepted": len(accepted),
    }


def _serve(
    abax: dict[str, Any], poweroffice: dict[str, Any], tenants: list[str], requests_per_second: float
) -> dict[str, httpx.Client]:
    """Load the emulators, then activate, connect ABAX and map codes for each tenant (outside the limit)."""
    from tests.hardening.companies import client_key
    from tests.support import api_client, connect_abax, map_codes

    s = stack()
    if _emulators_url is None:
        s.load(abax, poweroffice)
    s.reset()
    if _emulators_url is not None:  # the emulators' process serves these companies: back to them, fresh
        for emulator in ("poweroffice", "abax"):
            httpx.post(f"{_emulators_url}/emulators/{emulator}/_control/reset", timeout=30).raise_for_status()
    set_rate_limit(max(requests_per_second, 100))  # setting up is not what is measured
    credentials = {
        str(o.get("tenant_id") or o["client_id"]): (o["client_id"], o["client_secret"])
        for o in abax["organizations"]
    }
    clients = {}
    for tenant in tenants:
        client = api_client(s, tenant, "admin")
        client.timeout = httpx.Timeout(600)
        response = client.post("/integrations/poweroffice/activate", json={"client_key": client_key(tenant)})
        assert response.status_code == 200, response.text
        connect_abax(client, *credentials[tenant])
        map_codes(client)
        clients[tenant] = client
    set_rate_limit(requests_per_second)
    stats(reset=True)
    return clients


def prepare(tenants: list[str], employees: int, requests_per_second: float) -> dict[str, httpx.Client]:
    """Fresh table and emulators serving `tenants` (2 salary lines per employee), activated and mapped."""
    from tests.hardening.companies import companies

    abax, poweroffice = companies(tenants, employees)
    return _serve(abax, poweroffice, tenants, requests_per_second)


def sized_companies(employees: dict[str, int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """ABAX and PowerOffice data of tenants with their own number of employees (2 salary lines each)."""
    from tests.hardening.companies import companies

    abax: dict[str, Any] = {"organizations": []}
    poweroffice: dict[str, Any] = {"clients": []}
    for tenant, count in employees.items():
        one_abax, one_poweroffice = companies([tenant], count)
        abax["organizations"] += one_abax["organizations"]
        poweroffice["clients"] += one_poweroffice["clients"]
    return abax, poweroffice


def prepare_sized(employees: dict[str, int], requests_per_second: float) -> dict[str, httpx.Client]:
    """As `prepare`, with each tenant's own number of employees (2 salary lines each)."""
    abax, poweroffice = sized_companies(employees)
    return _serve(abax, poweroffice, list(employees), requests_per_second)


def serve_companies(
    abax: dict[str, Any], poweroffice: dict[str, Any], requests_per_second: float
) -> dict[str, httpx.Client]:
    """As `prepare`, for companies already served (e.g. by `emulators_elsewhere`)."""
    tenants = [str(o.get("tenant_id") or o["client_id"]) for o in abax["organizations"]]
    return _serve(abax, poweroffice, tenants, requests_per_second)


def history(execution_arn: str) -> list[dict[str, Any]]:
    import boto3

    from local.aws import REGION

    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = stepfunctions.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def transitions(execution_arn: str) -> int:
    """State transitions Step Functions bills for the execution: every state entered, and every retry of a task."""
    events = history(execution_arn)
    entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
    tasks = sum(1 for e in events if e["type"] == "TaskStateEntered")
    scheduled = sum(1 for e in events if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled"))
    return entered + max(0, scheduled - tasks)


def wait(client: httpx.Client, export_id: str, timeout: float) -> dict[str, Any]:
    """The export's record once its execution has ended.

    Watched through DescribeExecution, not by polling GET /exports/{id}: the export's detail reads every
    line chunk, and in the local stack that work (the API handler and moto's DynamoDB) would take the CPU
    the measured push runs on. In AWS it runs elsewhere.
    """
    import boto3

    from local.aws import REGION

    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    deadline = time.monotonic() + timeout
    arn = client.get(f"/exports/{export_id}").json()["execution_arn"]
    while stepfunctions.describe_execution(executionArn=arn)["status"] == "RUNNING":
        if time.monotonic() > deadline:
            raise TimeoutError(f"export {export_id} still RUNNING after {timeout} s")
        time.sleep(0.5)
    record = client.get(f"/exports/{export_id}").json()
    if record["status"] == "RUNNING":
        raise AssertionError(f"export {export_id}: the execution ended but the record still says RUNNING")
    return dict(record)


def summarize(record: dict[str, Any]) -> dict[str, Any]:
    """Push phase, transitions and Lambda invocations of one finished export, from its execution history."""
    events = history(record["execution_arn"])
    at = {
        event["type"]: event["timestamp"]
        for event in events
        if event["type"] in ("MapStateEntered", "MapStateExited")
    }
    started = next(event["timestamp"] for event in events if event["type"] == "ExecutionStarted")
    ended = max(event["timestamp"] for event in events)
    lambda_seconds = []
    scheduled: dict[int, Any] = {}
    for event in events:
        if event["type"] == "LambdaFunctionStarted":
            scheduled[event["id"]] = event["timestamp"]
        elif (
            event["type"] in ("LambdaFunctionSucceeded", "LambdaFunctionFailed")
            and event.get("previousEventId") in scheduled
        ):
            lambda_seconds.append((event["timestamp"] - scheduled[event["previousEventId"]]).total_seconds())
    return {
        "push_s": (at["MapStateExited"] - at["MapStateEntered"]).total_seconds() if len(at) == 2 else None,
        "execution_s": (ended - started).total_seconds(),
        "started": started,
        "ended": ended,
        "events": len(events),
        "chunks": next(
            (e["mapStateStartedEventDetails"]["length"] for e in events if e["type"] == "MapStateStarted"), 0
        ),
        "transitions": sum(1 for event in events if event["type"].endswith("StateEntered")),
        "lambda_invocations": sum(1 for event in events if event["type"] == "LambdaFunctionScheduled"),
        "lambda_seconds": sum(lambda_seconds),
    }


def export(client: httpx.Client, timeout: float = 1800) -> dict[str, Any]:
    response = client.post("/exports", json={"from": "2026-10-01", "to": "2026-10-31"})
    assert response.status_code == 202, response.text
    record = wait(client, response.json()["export_id"], timeout)
    return record


def exports_at_once(
    clients: dict[str, httpx.Client], timeout: float = 1800
) -> tuple[datetime, dict[str, dict[str, Any]]]:
    """Start every tenant's export at the same moment; when they started and their final records."""
    barrier = threading.Barrier(len(clients))
    started: dict[str, str] = {}
    errors: list[str] = []

    def start(tenant: str) -> None:
        barrier.wait()
        response = clients[tenant].post("/exports", json={"from": "2026-10-01", "to": "2026-10-31"})
        if response.status_code != 202:
            errors.append(f"{tenant}: {response.status_code} {response.text[:200]}")
        else:
            started[tenant] = response.json()["export_id"]

    threads = [threading.Thread(target=start, args=(tenant,)) for tenant in clients]
    t0 = datetime.now(UTC)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    records = {tenant: wait(clients[tenant], export_id, timeout) for tenant, export_id in started.items()}
    return t0, records


def exports_started_together(
    clients: dict[str, httpx.Client], starters: int = 8, timeout: float = 3600
) -> tuple[datetime, float, dict[str, dict[str, Any]]]:
    """Every tenant's export started as fast as `starters` callers can: in one process on 2 cores, a hundred
    API calls at the same instant would queue behind the GIL past API Gateway's 29 s. When the first started,
    how long the starts took, and the final records."""
    from concurrent.futures import ThreadPoolExecutor

    def start(tenant: str) -> tuple[str, str]:
        response = clients[tenant].post("/exports", json={"from": "2026-10-01", "to": "2026-10-31"})
        assert response.status_code == 202, f"{tenant}: {response.status_code} {response.text[:200]}"
        return tenant, response.json()["export_id"]

    t0 = datetime.now(UTC)
    began = time.perf_counter()
    with ThreadPoolExecutor(starters) as pool:
        started = dict(pool.map(start, clients))
    starting = time.perf_counter() - began
    # The executions are watched through DescribeExecution (an export's run is named by its id), one at a time;
    # the records (GET /exports/{id} reads every line chunk: the API's work, not the month end's) only once
    # every run has ended, so the bench takes no CPU from the push it measures.
    import boto3

    from local.aws import REGION

    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    runs = stack().aws.state_machine_arn.replace(":stateMachine:", ":execution:", 1)
    deadline = time.monotonic() + timeout
    for export_id in started.values():
        while stepfunctions.describe_execution(executionArn=f"{runs}:{export_id}")["status"] == "RUNNING":
            if time.monotonic() > deadline:
                raise TimeoutError(f"export {export_id} still RUNNING after {timeout} s")
            time.sleep(0.5)
    records = {tenant: wait(clients[tenant], export_id, timeout) for tenant, export_id in started.items()}
    return t0, starting, records


def schedule_fan_out(tenants: int) -> dict[str, Any]:
    """`tenants` companies due on the same day: the daily run, then every start it queued.

    The exports' own work is measured by the other figures: here the started executions run a one-state
    machine, so what is timed is the fan-out (queue, claim, ABAX check, record, StartExecution) alone.
    """
    import boto3

    from abax_payroll.records import AbaxIntegration, ExportStatus, Integration
    from abax_payroll.workflow.services import services
    from local.aws import REGION

    s = stack()
    s.reset()
    ids = [f"sched-{n:04d}" for n in range(tenants)]
    store = services().store
    for tenant in ids:
        store.tenants.put_integration(tenant, Integration(status="active", client_name=tenant))
        # ABAX connected (the start checks it; the one-state machine below reads nothing from ABAX).
        store.tenants.put_abax_integration(
            tenant, AbaxIntegration(status="active", secret_version="bench", activated_by="bench")
        )
        store.tenants.put_schedule(tenant, True, 5, "bench")
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    role = boto3.client("iam", region_name=REGION).get_role(RoleName="abax-payroll-local")["Role"]["Arn"]
    machine = stepfunctions.create_state_machine(
        name=f"bench-started-{time.time_ns()}",
        definition='{"StartAt": "Started", "States": {"Started": {"Type": "Succeed"}}}',
        roleArn=role,
        type="STANDARD",
    )["stateMachineArn"]
    local_machine = s.aws.state_machine_arn
    s.aws.use_state_machine(machine)
    source = s.aws.scheduled_starts
    invocations_before = source.invocations
    try:
        began = time.perf_counter()
        queued = s.invoke(
            "Schedule", {"source": "abax-payroll.schedule", "scheduled_time": "2026-12-05T05:00:00Z"}
        )
        dispatched = time.perf_counter() - began
        source.wait_until_idle(timeout=1800)
        elapsed = time.perf_counter() - began
    finally:
        s.aws.use_state_machine(local_machine)
    records = {tenant: store.exports.list_exports(tenant, 10, None)[0] for tenant in ids}
    started = sum(
        1
        for exports in records.values()
        if any(e.status is ExportStatus.RUNNING and e.execution_arn for e in exports)
    )
    failed = sum(1 for exports in records.values() for e in exports if e.status is ExportStatus.FAILED)
    executions = len(
        [
            e
            for page in stepfunctions.get_paginator("list_executions").paginate(stateMachineArn=machine)
            for e in page["executions"]
        ]
    )
    dead = int(
        boto3.client("sqs", region_name=REGION).get_queue_attributes(
            QueueUrl=s.aws.scheduled_starts_dead_letters_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
    )
    return {
        "tenants": tenants,
        "queued": queued["queued"],
        "dispatch_s": dispatched,
        "elapsed_s": elapsed,
        "started": started,
        "executions": executions,
        "failed": failed,
        "dead_letters": dead,
        "invocations": source.invocations - invocations_before,
    }
