"""What the test folders share: one local stack per process, API clients, and small steps.

The local stack runs moto process-wide (one DynamoDB table, one state machine) and points the handlers'
environment at itself, so a process can hold only one. `acquire_stack()` starts it on first use and the
last `release_stack()` stops it; the session fixtures of tests/e2e and tests/workflow both go through it,
so an xdist worker that runs tests of both folders still has exactly one stack.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from local.auth import mint_token
from local.stack import LocalStack, demo_data

ACME_KEY = "acme-demo-client-key-7f3a"
BETA_KEY = "beta-demo-client-key-91c2"
GAMMA_NO_PAYROLL_KEY = "gamma-no-payroll-key-55d0"
DELTA_NO_PRIVILEGE_KEY = "delta-no-privilege-key-3b81"
CLIENT_KEYS = {"acme": ACME_KEY, "beta": BETA_KEY}

# Every category mapped to a pay item of the right kind (km -> quantity pay items, outlays -> refunds).
ALL_CODES = {
    "mileage": "710",
    "passenger": "711",
    "trailer": "712",
    "forest_road": "713",
    "heavy_load": "714",
    "toll": "720",
    "parking": "721",
    "ferry": "722",
}
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}
# Drivers of the acme demo company whose logbooks pass validation (Nils Bakke has no employee
# number, Lise Moe's 1099 does not exist in PowerOffice Go).
GOOD_EMPLOYEES = ("1001", "1002", "1003")
TERMINAL = {"COMPLETED", "VALIDATION_FAILED", "ROLLED_BACK", "ROLLBACK_INCOMPLETE", "FAILED"}
OSLO = ZoneInfo("Europe/Oslo")
# The exhaustive and full-size variants (`make test-full`): every language × width of the axe check, the
# left-behind list at 2,000 lines. `make test` runs one instance of each, which walks the same code.
FULL = bool(os.environ.get("SUITE_FULL"))

# What the test suite's stack sets apart from the product's defaults. A 5xx or timed-out PowerOffice Go request
# is tried again after 0.02 s × the failures so far instead of 0.2 s ×: the same attempts, the same outcome, a
# tenth of the wait (the suite's fault tests waited minutes in it); the client's own tests check the 0.2 s.
TEST_ENVIRONMENT = {"POWEROFFICE_RETRY_BACKOFF_S": "0.02"}

_stack: LocalStack | None = None
_users = 0
_stack_lock = threading.Lock()


def acquire_stack() -> LocalStack:
    global _stack, _users
    with _stack_lock:
        if _stack is None:
            _stack = LocalStack(environment=TEST_ENVIRONMENT).start()
        _users += 1
        return _stack


def release_stack() -> None:
    global _stack, _users
    with _stack_lock:
        _users -= 1
        if _users == 0 and _stack is not None:
            _stack.stop()
            _stack = None


# --- the API ---------------------------------------------------------------------------------------


def wait_until_idle(
    stack: LocalStack, timeout: float = 60, tenants: tuple[str, ...] = ("acme", "beta")
) -> None:
    """Let every export of a test end, so that none writes into the next test's fresh company; fail if one does not."""
    deadline = time.monotonic() + timeout
    for tenant in tenants:
        with api_client(stack, tenant) as client:
            while True:
                began = time.monotonic()
                response = client.get("/exports", params={"limit": 100})
                assert response.status_code == 200, (
                    f"the exports of {tenant} could not be listed: {response.text}"
                )
                running = [e["export_id"] for e in response.json()["exports"] if e["status"] == "RUNNING"]
                if not running:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"export(s) {running} of {tenant} still run after {timeout} s and would leak into the next test"
                    )
                poll_pause(time.monotonic() - began)


def api_client(
    stack: LocalStack, tenant: str | None, role: str = "admin", **token_claims: Any
) -> httpx.Client:
    """An httpx client on `{url}/v1` carrying a Bearer token of `tenant`'s identity provider."""
    token = mint_token(tenant, role, **token_claims)
    client = httpx.Client(
        base_url=f"{stack.url}/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    client.tenant = tenant  # type: ignore[attr-defined]
    return client


def anonymous_client(stack: LocalStack) -> httpx.Client:
    return httpx.Client(base_url=f"{stack.url}/v1", timeout=60)


def activate(client: httpx.Client, client_key: str | None = None, *, abax: bool = True) -> dict[str, Any]:
    """Activate PowerOffice Go with the tenant's client key and (unless told not to) connect its ABAX."""
    key = client_key or CLIENT_KEYS[client.tenant]  # type: ignore[attr-defined]
    response = client.post("/integrations/poweroffice/activate", json={"client_key": key})
    assert response.status_code == 200, response.text
    if abax:
        connect_abax(client)
    return response.json()


def abax_credentials(tenant: str) -> tuple[str, str]:
    """The API client ABAX issued the organisation labelled `tenant` in the data the stack serves now."""
    assert _stack is not None, "the local stack is not running"
    return _stack.abax.credentials(tenant)


def connect_abax(
    client: httpx.Client, client_id: str | None = None, client_secret: str | None = None
) -> dict[str, Any]:
    """The admin connects ABAX with the organisation's own API client (as ABAX issued it)."""
    if client_id is None or client_secret is None:
        client_id, client_secret = abax_credentials(client.tenant)  # type: ignore[attr-defined]
    response = client.post(
        "/integrations/abax/activate", json={"client_id": client_id, "client_secret": client_secret}
    )
    assert response.status_code == 200, response.text
    return response.json()


def map_codes(client: httpx.Client, codes: dict[str, str | None] | None = None) -> dict[str, Any]:
    response = client.put("/payroll-codes", json={"codes": ALL_CODES if codes is None else codes})
    assert response.status_code == 200, response.text
    return response.json()


def preview(
    client: httpx.Client, period: dict[str, str] = OCTOBER, logbook_ids: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = dict(period)
    if logbook_ids is not None:
        body["logbook_ids"] = logbook_ids
    response = client.post("/exports/preview", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def good_logbooks(
    client: httpx.Client, period: dict[str, str] = OCTOBER, employees: Iterable[str] = GOOD_EMPLOYEES
) -> list[str]:
    """The logbook ids of the period whose drivers pass validation."""
    wanted = set(employees)
    return sorted(
        logbook["logbook_id"]
        for logbook in preview(client, period)["logbooks"]
        if logbook["driver"]["employee_number"] in wanted
    )


def start_export(
    client: httpx.Client, period: dict[str, str] = OCTOBER, logbook_ids: list[str] | None = None
) -> str:
    body: dict[str, Any] = dict(period)
    if logbook_ids is not None:
        body["logbook_ids"] = logbook_ids
    response = client.post("/exports", json=body)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "RUNNING"
    return str(response.json()["export_id"])


# A poll waits at least this long, and at least twice as long as the last read took: the stack runs in this
# process (one GIL, one DynamoDB lock), so reading a record of 2,000 lines every 0.2 s would take most of the
# time the export itself needs.
POLL_S = 0.2


def poll_pause(read_s: float) -> None:
    time.sleep(max(POLL_S, 2 * read_s))


def wait_for_export(client: httpx.Client, export_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll GET /exports/{id} until it leaves RUNNING; the final record."""
    deadline = time.monotonic() + timeout
    while True:
        began = time.monotonic()
        response = client.get(f"/exports/{export_id}")
        assert response.status_code == 200, response.text
        record = response.json()
        if record["status"] != "RUNNING":
            return record
        if time.monotonic() > deadline:
            raise AssertionError(
                f"export {export_id} still RUNNING after {timeout} s: {json.dumps(record)[:2000]}"
            )
        poll_pause(time.monotonic() - began)


def export_and_wait(
    client: httpx.Client,
    period: dict[str, str] = OCTOBER,
    logbook_ids: list[str] | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    return wait_for_export(client, start_export(client, period, logbook_ids), timeout)


def problem_codes(body: dict[str, Any]) -> set[str]:
    return {problem["code"] for problem in body.get("problems", [])}


# --- the emulators ---------------------------------------------------------------------------------


def set_faults(stack: LocalStack, rules: list[dict[str, Any]]) -> None:
    response = httpx.post(
        f"{stack.url}/emulators/poweroffice/_control/faults", json={"rules": rules}, timeout=10
    )
    assert response.status_code == 200, response.text


def lock_all_lines(stack: LocalStack) -> None:
    response = httpx.post(f"{stack.url}/emulators/poweroffice/_control/lock", json={"all": True}, timeout=10)
    assert response.status_code == 200, response.text


def salary_lines(stack: LocalStack, client_key: str = ACME_KEY) -> list[dict[str, Any]]:
    """The client's salary lines as PowerOffice Go holds them (SalaryLineDto), read over the control API."""
    response = httpx.get(
        f"{stack.url}/emulators/poweroffice/_control/salary-lines",
        params={"client_key": client_key},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["salary_lines"])


# --- expectations computed from the demo data, independently of the product ------------------------


def round2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def oslo_date(timestamp: str) -> date:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(OSLO).date()


def trip_quantities(trip: dict[str, Any], expense: dict[str, Any] | None) -> dict[str, Decimal]:
    """SPEC section 3's category table, applied to one raw ABAX trip and its expense record.

    Supplements are bounded by the trip: none exceeds its distance, and trailer + caravan + heavy load are one
    equipment supplement paid at most once per driven km (trailer and caravan first).
    """
    extra = (expense or {}).get("extra") or {}
    money = (expense or {}).get("expense") or {}
    names = [name for name in (extra.get("passenger_name") or "").split(",") if name.strip()]
    distance = dec(trip.get("distance"))
    equipment = min(
        distance,
        dec(extra.get("distance_with_trailer_in_km")) + dec(extra.get("distance_with_caravan_in_km")),
    )
    return {
        "mileage": distance,
        "passenger": min(distance, dec(extra.get("distance_with_passenger_in_km"))) * max(1, len(names)),
        "trailer": equipment,
        "forest_road": min(distance, dec(extra.get("distance_with_bad_road_in_km"))),
        "heavy_load": min(distance - equipment, dec(extra.get("distance_with_heavy_load_in_km"))),
        "toll": dec(money.get("toll_charge")) + dec(money.get("toll_road_admin")),
        "parking": dec(money.get("parking")) + dec(money.get("easy_park_private")),
        "ferry": dec(money.get("ferry")),
    }


def demo_trips(
    tenant: str, first: date, last: date, employee_number: str | None = None
) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Business trips in private cars whose Oslo start date is in [first, last], with their expense records."""
    organisation = next(o for o in demo_data("abax.json")["organizations"] if o["tenant_id"] == tenant)
    expenses = {entry["trip_id"]: entry for entry in organisation.get("expenses", [])}
    found = []
    for trip in organisation["trips"]:
        if (
            trip.get("commercial_class") != "BusinessTrip"
            or trip["vehicle"].get("commercial_class") != "Private"
        ):
            continue
        if employee_number is not None and trip["driver"].get("external_id") != employee_number:
            continue
        if first <= oslo_date(trip["start"]["location"]["timestamp"]) <= last:
            found.append((trip, expenses.get(trip["id"])))
    return found


def pay_items_by_id(client_key: str = ACME_KEY) -> dict[str, dict[str, Any]]:
    client = next(c for c in demo_data("poweroffice.json")["clients"] if c["client_key"] == client_key)
    return {str(item["Id"]).lower(): item for item in client["pay_items"]}


def employees_by_id(client_key: str = ACME_KEY) -> dict[int, dict[str, Any]]:
    client = next(c for c in demo_data("poweroffice.json")["clients"] if c["client_key"] == client_key)
    return {int(employee["Id"]): employee for employee in client["employees"]}


def fmt_total(value: Decimal) -> str:
    """How this system's API writes a Decimal: a string with 2 decimals."""
    return f"{round2(value):.2f}"


def probe_function(prefix: str, handler: Any) -> dict[str, str]:
    """A Lambda function of the test's own (`handler` run by the local runtime) and its role, for tests that
    pin how the local stack runs any function: {"role", "arn", "name"}."""
    import boto3

    from local import lambda_runtime
    from local.aws import REGION, _dummy_zip

    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    arn = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _dummy_zip()},
    )["FunctionArn"]
    lambda_runtime.register(name, handler)
    return {"role": role, "arn": arn, "name": name}
