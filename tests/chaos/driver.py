"""Seeded random sequences over several companies, checked against PowerOffice Go's own salary lines.

A seed decides a scenario: how many employees each company has, and a sequence of events at random moments
(PowerOffice Go and ABAX faults, Lambda invocations killed at chosen points, runs stopped as in the Step
Functions console, some of them with their status-change event lost as EventBridge may lose it, and the
clerk's start, rollback, resume, try again, undo, key and code changes). The scenario runs against the local
stack; once it settles (faults off, every run ended: a run whose event was lost is ended by the
reconciliation sweep, run as its schedule would) the invariants are checked against the emulator's salary
lines, the previews and the API:

(a) COMPLETED ⇒ exactly its lines in Go, once; ROLLED_BACK / FAILED / VALIDATION_FAILED ⇒ none;
    ROLLBACK_INCOMPLETE ⇒ exactly the lines it names;
(b) no trip paid twice (per employee and pay item, Go holds at most what the trips add up to), and no trip
    held (the preview's `already_exported`) by an export that does not pay it, nor paid but free;
(c) nothing RUNNING after settling, and every action an export offers works;
(d) no 5xx from the API other than a documented 502 or 503;
(e) the API's actions match the status.

The seed fixes the sequence, not the threads' timing: a failure prints its seed and the one line that runs
it again (`python -m tests.chaos --seed N --companies K`), which reproduces it most of the time.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
import httpx
from botocore.exceptions import ClientError

from abax_payroll.domain.lines import reference_prefix
from local import lambda_runtime
from local.auth import mint_token
from local.aws import REGION
from local.lambda_runtime import LocalContext
from local.stack import LocalStack
from tests.hardening.companies import client_key, companies
from tests.support import ALL_CODES, OCTOBER

# What each status must offer (SPEC: rollback and resume on the export, retry as a new export).
EXPECTED_ACTIONS = {
    "COMPLETED": ["rollback"],
    "ROLLBACK_INCOMPLETE": ["rollback", "resume"],
    "ROLLED_BACK": ["retry"],
    "FAILED": ["retry"],
    "VALIDATION_FAILED": [],
}
DOCUMENTED_5XX = {502: {"POWEROFFICE_UNAVAILABLE", "ABAX_UNAVAILABLE"}, 503: {"POWEROFFICE_BUSY"}}
SETTLE_S = 120.0
STEPS = ("fetch", "validate", "group", "enqueue_push", "complete", "mark_failed", "prepare_resume")
NAMED_POINTS = ("push.lines_created",)  # where production code calls crashpoints.reached (the pusher's)
# A dead pusher's lease and chunk lapse after this many seconds (60 in AWS), and the schedule wakes the next
# pusher this often (a minute in AWS), so a scenario sees the replacement within seconds.
PUSHER_HOLD_S = 3.0
PUSHER_SCHEDULE_S = 2.0
# A stop whose status-change event EventBridge loses (delivered best effort): only the reconciliation sweep
# ends that export. Drawn from a stream of its own (`_lost_events`), so a seed's events stay as they were.
LOSE_EVENT_CHANCE = 0.35
SWEEP_EVERY_S = 2.0  # while settling after a lost event, the sweep runs this often (every 10 minutes in AWS)


@dataclass(frozen=True)
class Violation:
    scenario: str  # "seed 17", or a named sequence
    invariant: str
    tenant: str
    export_id: str | None
    what: str

    def __str__(self) -> str:
        export = f" export {self.export_id}" if self.export_id else ""
        return f"{self.scenario} ({self.invariant}) {self.tenant}{export}: {self.what}"


@dataclass
class Company:
    tenant: str
    client_key: str
    employees: dict[int, str]  # PowerOffice employee id -> employee number
    logbooks: dict[str, list[str]]  # employee number -> logbook ids
    totals: dict[tuple[str, str], Decimal]  # (employee number, pay-item code) -> what its trips add up to
    pay_items: dict[str, str]  # PowerOffice pay-item id (lower case) -> code


@dataclass
class Scenario:
    name: str  # "seed 17", or a named sequence
    companies: list[Company]
    events: list[tuple[float, str, dict[str, Any]]]  # (pause before, kind, parameters)
    data: tuple[dict[str, Any], dict[str, Any]] = field(repr=False, default=({}, {}))
    directed: bool = False  # a directed sequence: each crash it arms must fire, or it did not happen

    def describe(self) -> str:
        lines = [f"{self.name}: {', '.join(c.tenant for c in self.companies)}"]
        lines += [f"  +{pause:.1f}s {kind} {json.dumps(params)}" for pause, kind, params in self.events]
        return "\n".join(lines)


# ---- a scenario from a seed ------------------------------------------------------------------------------


def scenario(seed: int, company_count: int, event_count: int = 12) -> Scenario:
    rng = random.Random(seed)
    tenants = [f"c{seed}x{n}" for n in range(company_count)]
    abax: dict[str, Any] = {"organizations": []}
    poweroffice: dict[str, Any] = {"clients": []}
    built = []
    for tenant in tenants:
        one_abax, one_po = companies([tenant], rng.randint(2, 4), trips_per_employee=rng.randint(1, 3))
        abax["organizations"] += one_abax["organizations"]
        poweroffice["clients"] += one_po["clients"]
        built.append(_company(tenant, one_abax["organizations"][0], one_po["clients"][0]))
    events = [(0.0, "export", {"tenant": tenant, "employees": None}) for tenant in tenants]
    for _ in range(event_count):
        company = rng.choice(built)
        kind, params = _event(rng, company)
        events.append((round(rng.uniform(0.0, 1.5), 1), kind, params))
        if kind == "stop":  # the clerk acts on the stopped export while its last invocation may run on
            for action in rng.choice([["rollback", "retry"], ["resume", "retry"], ["retry"], ["rollback"]]):
                events.append(
                    (round(rng.uniform(0.3, 3.0), 1), "clerk", {"tenant": company.tenant, "action": action})
                )
    return Scenario(f"seed {seed}", built, _lost_events(seed, events), (abax, poweroffice))


def _lost_events(
    seed: int, events: list[tuple[float, str, dict[str, Any]]]
) -> list[tuple[float, str, dict[str, Any]]]:
    """Some stops lose their status-change event, drawn from a stream of the seed's own so that the rest of
    its scenario is the one it was before lost events were drawn."""
    lost = random.Random(f"lost-events-{seed}")
    return [
        (pause, kind, {**params, "lose_event": True})
        if kind == "stop" and lost.random() < LOSE_EVENT_CHANCE
        else (pause, kind, params)
        for pause, kind, params in events
    ]


def _company(tenant: str, organization: dict[str, Any], client: dict[str, Any]) -> Company:
    pay_items = {str(item["Id"]).lower(): str(item["Code"]) for item in client["pay_items"]}
    employees = {int(e["Id"]): str(e["Number"]) for e in client["employees"]}
    expenses = {entry["trip_id"]: entry for entry in organization["expenses"]}
    totals: dict[tuple[str, str], Decimal] = {}
    logbooks: dict[str, list[str]] = {}
    for trip in organization["trips"]:
        number = trip["driver"]["external_id"]
        month = trip["start"]["location"]["timestamp"][:7]
        logbook = f"{trip['driver']['id']}:{trip['vehicle']['id']}:{month}"
        logbooks.setdefault(number, [])
        if logbook not in logbooks[number]:
            logbooks[number].append(logbook)
        money = expenses.get(trip["id"], {}).get("expense", {})
        toll = Decimal(str(money.get("toll_charge", 0))) + Decimal(str(money.get("toll_road_admin", 0)))
        for code, amount in (
            (ALL_CODES["mileage"], Decimal(str(trip["distance"]))),
            (ALL_CODES["toll"], toll),
        ):
            totals[(number, code)] = totals.get((number, code), Decimal(0)) + amount
    return Company(tenant, client_key(tenant), employees, logbooks, totals, pay_items)


def _event(rng: random.Random, company: Company) -> tuple[str, dict[str, Any]]:
    tenant = company.tenant
    kind = rng.choices(
        ["po_fault", "abax_fault", "crash", "stop", "export", "clerk", "lock", "unlock", "key", "codes"],
        weights=[6, 1, 4, 3, 4, 6, 1, 1, 1, 1],
    )[0]
    if kind == "po_fault" and rng.random() < 0.4:  # slow replies: the pusher holds the slot, others wait
        method = rng.choice(["POST", "POST", "DELETE"])
        return kind, {
            "rule": {"method": method, "path": "/SalaryLines", "status": None, "delay_s": 1.5, "times": 8}
        }
    if kind == "po_fault":
        rule = rng.choice(
            [
                {"method": "POST", "path": "/SalaryLines", "status": rng.choice([500, 503, 400, 429])},
                {"method": "POST", "path": "/SalaryLines", "status": 500, "after_commit": True},
                # Slow replies: the export that pushes holds the shared push slot while others wait.
                {
                    "method": "POST",
                    "path": "/SalaryLines",
                    "status": None,
                    "delay_s": rng.choice([1, 3]),
                    "times": 6,
                },
                {
                    "method": "DELETE",
                    "path": "/SalaryLines",
                    "status": None,
                    "delay_s": rng.choice([1, 3]),
                    "times": 4,
                },
                {"method": "DELETE", "path": "/SalaryLines", "status": rng.choice([500, 503])},
                {"method": "GET", "path": "/PayItems", "status": 429, "times": rng.randint(3, 40)},
                {"method": "GET", "path": "/Employees", "status": 500},
                {"method": "GET", "path": "/PayItems", "status": None, "delay_s": 6},
            ]
        )
        rule = {"nth": rng.randint(1, 6), "times": rng.randint(1, 4), **rule}  # a rule's own times wins
        return kind, {"rule": rule}
    if kind == "abax_fault":
        rule = {"method": "GET", "path": "/v1/trips", "status": rng.choice([500, 503, 429]), "times": 2}
        return kind, {"rule": rule}
    if kind == "crash" and rng.random() < 0.5:  # a slow invocation (a cold start, a long GC): it goes on
        step = rng.choice(STEPS)
        return kind, {
            "point": lambda_runtime.BEFORE,
            "function": "ExportSteps",
            "where": {"step": step},
            "delay_s": 3,
        }
    if kind == "crash":
        point = rng.choice([lambda_runtime.BEFORE, lambda_runtime.AFTER, *NAMED_POINTS])
        times = rng.choice([1, 1, 2, 3])  # a saga rollback that dies three times in a row, too
        if point in NAMED_POINTS:  # the pusher dies between creating lines in Go and recording them
            return kind, {"point": point, "function": "Pusher", "where": {}, "nth": rng.randint(1, 4)}
        if rng.random() < 0.25:
            return kind, {"point": point, "function": "Rollback", "where": {}, "times": times}
        if rng.random() < 0.15:  # a pusher that dies before or after its work
            return kind, {"point": point, "function": "Pusher", "where": {}, "times": times}
        where = {"step": rng.choice(STEPS)}
        return kind, {"point": point, "function": "ExportSteps", "where": where, "times": times}
    if kind == "export":
        numbers = sorted(company.logbooks)
        subset = None if rng.random() < 0.5 else sorted(rng.sample(numbers, rng.randint(1, len(numbers))))
        return kind, {"tenant": tenant, "employees": subset}
    if kind == "clerk":
        return kind, {"tenant": tenant, "action": rng.choice(["rollback", "resume", "retry", "undo"])}
    if kind == "codes":
        return kind, {"tenant": tenant, "unmap": rng.choice(["toll", None])}
    if kind == "stop":
        return kind, {"tenant": tenant, "after_s": rng.choice([0.0, 0.5, 1.0, 2.0])}
    return kind, {"tenant": tenant}


# ---- the sequences, directed ---------------------------------------------------------------------


def sequence(name: str) -> Scenario:
    """One of issue 24's sequences as a fixed scenario over two companies (`python -m tests.chaos --sequence`)."""
    plan = scenario(seed=1000 + list(SEQUENCES).index(name), company_count=2, event_count=0)
    plan.name = f"sequence {name}"
    plan.events = SEQUENCES[name](*(c.tenant for c in plan.companies))
    plan.directed = True
    return plan


def _waiting_chunk_stopped(other: str, tenant: str) -> list[tuple[float, str, dict[str, Any]]]:
    """1. Another company holds the push slot (its replies are slow); the waiting export's run is stopped;
    the clerk rolls it back and tries again; its old chunk then gets the slot and creates its lines."""
    slow = {"method": "POST", "path": "/SalaryLines", "status": None, "delay_s": 2, "times": 8}
    return [
        (0.0, "po_fault", {"rule": slow}),
        (0.0, "export", {"tenant": other, "employees": None}),
        (0.3, "export", {"tenant": tenant, "employees": None}),
        (0.0, "stop", {"tenant": tenant, "after_s": 2.0}),
        (1.0, "clerk", {"tenant": tenant, "action": "rollback"}),
        (2.0, "clerk", {"tenant": tenant, "action": "retry"}),
    ]


def _slow_rollback_stopped(_: str, tenant: str) -> list[tuple[float, str, dict[str, Any]]]:
    """2. The push fails, the saga's rollback deletes slowly, the run is stopped; the clerk resumes; the old
    rollback then finishes; the clerk tries again."""
    rules = [
        {"method": "POST", "path": "/SalaryLines", "nth": 3, "status": 400},
        {"method": "DELETE", "path": "/SalaryLines", "status": None, "delay_s": 3, "times": 10},
    ]
    return [
        (0.0, "po_fault", {"rules": rules}),
        (0.0, "export", {"tenant": tenant, "employees": None}),
        (0.0, "stop", {"tenant": tenant, "after_s": 4.0}),
        (0.5, "clerk", {"tenant": tenant, "action": "resume"}),
        (6.0, "clerk", {"tenant": tenant, "action": "retry"}),
    ]


def _stopped_during_group(_: str, tenant: str) -> list[tuple[float, str, dict[str, Any]]]:
    """3. The run is stopped while Group runs (a slow one); Group then claims the trips in the ledger."""
    slow_group = {"point": lambda_runtime.BEFORE, "function": "ExportSteps", "where": {"step": "group"}}
    return [
        (0.0, "crash", {**slow_group, "delay_s": 4.0}),
        (0.0, "export", {"tenant": tenant, "employees": None}),
        (0.0, "stop", {"tenant": tenant, "after_s": 2.5}),
        (4.0, "clerk", {"tenant": tenant, "action": "retry"}),
    ]


def _push_died_before_recording(_: str, tenant: str) -> list[tuple[float, str, dict[str, Any]]]:
    """4. The pusher dies after creating lines in Go and before recording their ids; the next pusher pushes
    the chunk again and PowerOffice Go refuses a line; the saga's rollback then dies three times in a row.
    The export's 6 lines: the dead pusher made 3 to 6 of them (POSTs 1-6), the next one sends all 6 again
    (POSTs 4-12), so the 9th POST is always the next pusher's."""
    refused = {"method": "POST", "path": "/SalaryLines", "nth": 9, "status": 400}
    return [
        (0.0, "po_fault", {"rule": refused}),
        (0.0, "crash", {"point": "push.lines_created", "function": "Pusher", "where": {}, "nth": 3}),
        (0.0, "crash", {"point": lambda_runtime.BEFORE, "function": "Rollback", "where": {}, "times": 3}),
        (0.0, "export", {"tenant": tenant, "employees": None}),
    ]


def _search_while_rate_limited(_: str, tenant: str) -> list[tuple[float, str, dict[str, Any]]]:
    """5. About 40 PowerOffice 429s in a row; the clerk searches (before: API Gateway's 504 at 29 s)."""
    return [
        (0.0, "po_fault", {"rule": {"method": "*", "path": "/", "status": 429, "times": 40}}),
        (0.0, "search", {"tenant": tenant}),
    ]


def _lost_end_while_pushing(other: str, tenant: str) -> list[tuple[float, str, dict[str, Any]]]:
    """6. The run is stopped while its chunk pushes (slow replies) and EventBridge loses its status-change
    event: nothing but the reconciliation sweep can end the export, and it must end it true to Go while the
    other company's export goes on."""
    slow = {"method": "POST", "path": "/SalaryLines", "status": None, "delay_s": 1.0, "times": 16}
    return [
        (0.0, "po_fault", {"rule": slow}),
        (0.0, "export", {"tenant": tenant, "employees": None}),
        (0.3, "export", {"tenant": other, "employees": None}),
        # Once its first line is in Go (at a fixed moment its run may not have begun pushing yet, or, on a busy
        # machine, have pushed them all and be ending itself in Complete's invocation).
        (0.0, "stop", {"tenant": tenant, "after_s": 0.0, "lose_event": True, "when_pushing": True}),
        (1.0, "clerk", {"tenant": tenant, "action": "retry"}),
    ]


SEQUENCES: dict[str, Callable[[str, str], list[tuple[float, str, dict[str, Any]]]]] = {
    "1-waiting-chunk-stopped": _waiting_chunk_stopped,
    "2-slow-rollback-stopped": _slow_rollback_stopped,
    "3-stopped-during-group": _stopped_during_group,
    "4-push-died-before-recording": _push_died_before_recording,
    "5-search-rate-limited": _search_while_rate_limited,
    "6-lost-end-while-pushing": _lost_end_while_pushing,
}


# ---- running it -------------------------------------------------------------------------------------------


class Run:
    """One scenario against the stack: the clerk's clients, what the API answered, the violations found."""

    def __init__(self, stack: LocalStack, plan: Scenario, log: Callable[[str], None] = lambda _: None):
        self.stack, self.plan, self.log = stack, plan, log
        self.violations: list[Violation] = []
        self.outcomes: Counter[str] = Counter()  # the exports' statuses at the last check
        self.answers: list[tuple[str, str, int, str]] = []  # (tenant, request, status, code)
        self.clients = {c.tenant: self._client(c.tenant) for c in plan.companies}
        self.companies = {c.tenant: c for c in plan.companies}
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.armed: list[lambda_runtime.Crash] = []
        self.lost: set[str] = set()  # exports whose run was stopped with its status-change event lost
        self.swept: list[dict[str, Any]] = []  # what the reconciliation sweep ended

    def _client(self, tenant: str) -> httpx.Client:
        client = httpx.Client(
            base_url=f"{self.stack.url}/v1",
            headers={"Authorization": f"Bearer {mint_token(tenant, 'admin')}"},
            timeout=60,
            # Idle connections closed before the server's keep-alive (5 s) does: a POST sent on a connection
            # the server is closing is reset, and httpx does not send a POST again.
            limits=httpx.Limits(keepalive_expiry=2.0),
        )

        def keep(response: httpx.Response) -> None:
            response.read()
            code = ""
            if response.status_code >= 400 and response.headers.get("content-type", "").endswith("json"):
                code = str(response.json().get("code", ""))
            request = f"{response.request.method} {response.request.url.path}"
            self.answers.append((tenant, request, response.status_code, code))

        client.event_hooks["response"] = [keep]
        return client

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def violate(self, invariant: str, tenant: str, export_id: str | None, what: str) -> None:
        found = Violation(self.plan.name, invariant, tenant, export_id, what)
        if found not in self.violations:  # the check after the closing actions finds the same again
            self.violations.append(found)

    # -- the scenario

    def run(self) -> list[Violation]:
        """Play the scenario, settle, check; then take an offered action of each company and check again."""
        with self.stack.quick_pusher_replacement(PUSHER_HOLD_S, PUSHER_SCHEDULE_S):
            self.play()
            self.check_directed()
            self.settle()
            self.check_swept()
            self.check()
            self.close_offered_actions()
        return self.violations

    def check_directed(self) -> None:
        """A directed sequence whose crash never fired did not happen: say so (no pass on nothing)."""
        if not self.plan.directed:
            return  # a random scenario's crash may well find no invocation to kill
        deadline = time.monotonic() + 30
        while any(len(c.killed) < c.times for c in self.armed) and time.monotonic() < deadline:
            time.sleep(0.2)  # the sequence's crashes fire as its runs reach them
        for crash in self.armed:
            if not crash.killed:
                self.violate(
                    "setup",
                    "",
                    None,
                    f"the crash at {crash.point} ({crash.function}) never fired: "
                    "no invocation reached that point, so the sequence did not happen",
                )

    def check_swept(self) -> None:
        """A directed sequence that loses a run's event did so, and the sweep ended that export. (In a random
        scenario the stopped run's last invocation may end its export itself: a rollback, Complete.)"""
        if not self.plan.directed or not any(
            p.get("lose_event") for _, kind, p in self.plan.events if kind == "stop"
        ):
            return
        if not self.lost:
            self.violate("setup", "", None, "the stop that loses its event found no running run")
        swept = {end.get("export_id") for end in self.swept}
        for export_id in sorted(self.lost - swept):
            self.violate(
                "c", "", export_id, "its run's event was lost and the reconciliation sweep did not end it"
            )

    def play(self) -> None:
        self.stack.load(*self.plan.data)
        for company in self.plan.companies:
            client = self.clients[company.tenant]
            self._activate(client, company)
            client.post("/integrations/abax/activate", json=_abax_pair(self.stack, company.tenant))
            client.put("/payroll-codes", json={"codes": ALL_CODES})
        for pause, kind, params in self.plan.events:
            time.sleep(pause)
            self.log(f"  {kind} {json.dumps(params)}")
            try:
                getattr(self, f"_do_{kind}")(**params)
            except httpx.TransportError as error:  # the local gateway did not answer: report, go on
                self.violate("d", str(params.get("tenant", "")), None, f"{kind}: no answer ({error!r})")

    def _activate(self, client: httpx.Client, company: Company) -> None:
        client.post("/integrations/poweroffice/activate", json={"client_key": company.client_key})

    def _do_po_fault(
        self, rule: dict[str, Any] | None = None, rules: list[dict[str, Any]] | None = None
    ) -> None:
        self.stack.poweroffice.set_faults(rules if rules is not None else [rule])

    def _do_abax_fault(self, rule: dict[str, Any]) -> None:
        httpx.post(f"{self.stack.url}/emulators/abax/_control/faults", json={"rules": [rule]}, timeout=10)

    def _do_crash(
        self,
        point: str,
        function: str,
        where: dict[str, Any],
        times: int = 1,
        delay_s: float = 0.0,
        nth: int = 1,
    ) -> None:
        self.armed.append(self.stack.crash(point, function, nth=nth, times=times, delay_s=delay_s, **where))

    def _do_stop(
        self, tenant: str, after_s: float, lose_event: bool = False, when_pushing: bool = False
    ) -> None:
        """Stop the company's running run (waiting a few seconds for one; `when_pushing`: for one with a line
        in Go) `after_s` seconds into it; with `lose_event`, through the local stack's control (SPEC §6) with
        its status-change event lost."""
        deadline = time.monotonic() + (30 if when_pushing else 5)
        while time.monotonic() < deadline:
            running = [
                e
                for e in self._exports(tenant)
                if e["status"] == "RUNNING"
                and e.get("execution_arn")
                and (not when_pushing or e.get("lines_pushed", 0) >= 1)
            ]
            if running:
                time.sleep(after_s)
                if lose_event:
                    self._stop_losing_its_event(tenant, running[0]["export_id"])
                    return
                with contextlib.suppress(ClientError):  # it ended meanwhile
                    self.sfn.stop_execution(executionArn=running[0]["execution_arn"])
                    self._status_change_at_once(running[0]["execution_arn"])
                return
            time.sleep(0.2)

    def _stop_losing_its_event(self, tenant: str, export_id: str) -> None:
        answer = httpx.post(
            f"{self.stack.url}/_control/executions/stop",
            json={"export_id": export_id, "tenant_id": tenant, "deliver_event": False},
            timeout=30,
        )
        if answer.status_code != 200:
            self.violate(
                "setup", tenant, export_id, f"the control stop answered {answer.status_code}: {answer.text}"
            )
            return
        if answer.json()["stopped"]:
            self.lost.add(export_id)
        self.log(f"    stopped {export_id}, its event lost ({answer.json()['export_status']} then)")

    def _status_change_at_once(self, execution_arn: str) -> None:
        """Step Functions marks a stopped run ABORTED and sends its status-change event at once, while the
        step's Lambda invocation runs on; moto ends the run only after the step returns. Deliver the event
        now, as EventBridge would (at least once: the local watcher may deliver it again later)."""
        events = self.stack.aws.execution_ends
        assert events is not None
        described = {**self.sfn.describe_execution(executionArn=execution_arn), "status": "ABORTED"}
        with contextlib.suppress(Exception):  # refused for now (RunStillPushing): the watcher retries
            events._handler(events._event(described), LocalContext(function_name="ExportSteps"))

    def _do_search(self, tenant: str) -> None:
        self.clients[tenant].post("/exports/preview", json=OCTOBER)

    def _do_export(self, tenant: str, employees: list[str] | None) -> None:
        company = self.companies[tenant]
        body: dict[str, Any] = dict(OCTOBER)
        if employees is not None:
            body["logbook_ids"] = sorted(lb for number in employees for lb in company.logbooks[number])
        self.clients[tenant].post("/exports", json=body)

    def _do_clerk(self, tenant: str, action: str) -> None:
        wanted = {"undo": ("rollback", "COMPLETED"), "rollback": ("rollback", "ROLLBACK_INCOMPLETE")}
        offered, status = wanted.get(action, (action, None))
        for export in self._exports(tenant):
            if offered in export.get("actions", []) and status in (None, export["status"]):
                self._act(tenant, export, offered)
                return

    def _act(self, tenant: str, export: dict[str, Any], action: str) -> httpx.Response:
        client = self.clients[tenant]
        if action == "retry":
            body: dict[str, Any] = dict(OCTOBER)
            if export.get("logbook_ids"):
                body["logbook_ids"] = export["logbook_ids"]
            return client.post("/exports", json=body)
        return client.post(f"/exports/{export['export_id']}/{action}")

    def _do_lock(self, tenant: str) -> None:
        ids = [line["Id"] for line in self.stack.poweroffice.salary_lines(client_key(tenant))]
        if ids:
            self.stack.poweroffice.lock_lines(ids)

    def _do_unlock(self, tenant: str) -> None:
        ids = [line["Id"] for line in self.stack.poweroffice.salary_lines(client_key(tenant))]
        if ids:
            self.stack.poweroffice.unlock_lines(ids)

    def _do_key(self, tenant: str) -> None:
        """The admin switches PowerOffice Go off and on again with the same key."""
        client = self.clients[tenant]
        client.post("/integrations/poweroffice/deactivate")
        self._activate(client, self.companies[tenant])

    def _do_codes(self, tenant: str, unmap: str | None) -> None:
        codes = dict(ALL_CODES)
        if unmap:
            codes[unmap] = None
        self.clients[tenant].put("/payroll-codes", json={"codes": codes})

    def _exports(self, tenant: str) -> list[dict[str, Any]]:
        """The company's exports, newest first, each as GET /exports/{id} shows it (actions, ARN, lines)."""
        client = self.clients[tenant]
        listed = client.get("/exports", params={"limit": 100})
        if listed.status_code != 200:
            return []
        details = (client.get(f"/exports/{e['export_id']}") for e in listed.json().get("exports", []))
        return [detail.json() for detail in details if detail.status_code == 200]

    # -- settling and checking

    def settle(self) -> None:
        """Faults off, every company's integration on and codes mapped, then wait until no run is RUNNING."""
        self.stack.poweroffice.set_faults([])
        httpx.post(f"{self.stack.url}/emulators/abax/_control/faults", json={"rules": []}, timeout=10)
        lambda_runtime.clear_crashes()
        for company in self.plan.companies:
            client = self.clients[company.tenant]
            if client.get("/integrations/poweroffice").json().get("status") != "active":
                self._activate(client, company)
            client.put("/payroll-codes", json={"codes": ALL_CODES})
        self.wait_for_runs()

    def wait_for_runs(self) -> None:
        """Until no export is RUNNING. After a lost event the reconciliation sweep runs every `SWEEP_EVERY_S`
        (its schedule, every 10 minutes in AWS): nothing else ends that export, and it must end it."""
        deadline = time.monotonic() + SETTLE_S
        swept_at = 0.0
        for tenant in self.clients:
            while running := [e for e in self._exports(tenant) if e["status"] == "RUNNING"]:
                if time.monotonic() > deadline:
                    for export in running:
                        lost = (
                            " (its run's event was lost: the sweep did not end it)"
                            if export["export_id"] in self.lost
                            else ""
                        )
                        self.violate(
                            "c",
                            tenant,
                            export["export_id"],
                            f"still RUNNING {SETTLE_S:.0f} s after settling{lost}",
                        )
                    break
                if self.lost and time.monotonic() - swept_at > SWEEP_EVERY_S:
                    self._sweep()
                    swept_at = time.monotonic()
                time.sleep(0.3)

    def _sweep(self) -> None:
        answer = httpx.post(f"{self.stack.url}/_control/reconcile", timeout=60)
        if answer.status_code != 200:
            self.violate(
                "d", "", None, f"the reconciliation sweep answered {answer.status_code}: {answer.text}"
            )
            return
        ended = answer.json().get("ended") or []
        self.swept += ended
        for end in ended:
            self.log(f"    the sweep ended {end}")

    def check(self) -> None:
        self.outcomes.clear()
        for tenant, company in self.companies.items():
            self._check_company(tenant, company)
        self._check_answers()

    def _check_company(self, tenant: str, company: Company) -> None:
        in_go = _in_go(self.stack, company)
        paying: set[str] = set()
        statuses: dict[str, str] = {}
        for detail in self._exports(tenant):
            statuses[detail["export_id"]] = detail["status"]
            self.outcomes[detail["status"]] += 1
            if detail["status"] == "RUNNING":
                continue  # reported by wait_for_runs
            self._check_export(tenant, detail, in_go)
            if detail["status"] in ("COMPLETED", "ROLLBACK_INCOMPLETE"):
                paying.update(_selected(detail, company))
        # (b) per employee and pay item, Go holds at most what the trips add up to.
        held: dict[tuple[str, str], Decimal] = {}
        for line in in_go:
            number = company.employees.get(int(line["EmployeeId"]), "?")
            code = company.pay_items.get(str(line["PayItemId"]).lower(), "?")
            value = Decimal(str(line.get("Quantity") or line.get("Amount") or 0))
            held[(number, code)] = held.get((number, code), Decimal(0)) + value
        for (number, code), value in sorted(held.items()):
            owed = company.totals.get((number, code), Decimal(0))
            if value > owed:
                refs = sorted(
                    line["ExternalImportReference"]
                    for line in in_go
                    if company.employees.get(int(line["EmployeeId"])) == number
                    and company.pay_items.get(str(line["PayItemId"]).lower()) == code
                )
                self.violate(
                    "b",
                    tenant,
                    None,
                    f"employee {number} pay item {code}: {value} in Go, trips add up "
                    f"to {owed} (paid twice); lines {refs}",
                )
        preview = self._search(tenant)
        if preview is None:
            return
        paid = {number for (number, _), value in held.items() if value > 0}
        for logbook in preview["logbooks"]:
            number = logbook["driver"]["employee_number"]
            holders = {
                export_id: statuses.get(export_id, "?") for export_id in logbook.get("exported_in", [])
            }
            idle = {
                e: status
                for e, status in holders.items()
                if status not in ("COMPLETED", "ROLLBACK_INCOMPLETE")
            }
            if logbook["already_exported"] and (idle or number not in paying):
                self.violate(
                    "b",
                    tenant,
                    next(iter(idle), None),
                    f"logbook {logbook['logbook_id']} is held by {holders or 'an export'}, which pays "
                    "nothing of it: no way to pay those trips",
                )
            if number in paid and not logbook["already_exported"]:
                self.violate(
                    "b",
                    tenant,
                    None,
                    f"employee {number} has lines in Go, but logbook "
                    f"{logbook['logbook_id']} is free: the next export pays it again",
                )

    def _search(self, tenant: str) -> dict[str, Any] | None:
        """The period's preview (polled while it goes on in the background), or None and a violation."""
        client = self.clients[tenant]
        answer = client.post("/exports/preview", json=OCTOBER)
        deadline = time.monotonic() + 60
        while answer.status_code == 202 or (
            answer.status_code == 200 and answer.json().get("status") == "RUNNING"
        ):
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
            answer = client.get(f"/exports/previews/{answer.json()['preview_id']}")
        if answer.status_code == 200 and "logbooks" in answer.json():
            return dict(answer.json())
        self.violate(
            "c", tenant, None, f"the search after settling answered {answer.status_code} {answer.text[:300]}"
        )
        return None

    def _check_export(self, tenant: str, detail: dict[str, Any], in_go: list[dict[str, Any]]) -> None:
        export_id, status = detail["export_id"], detail["status"]
        prefix = reference_prefix(export_id)
        mine = [line for line in in_go if (line.get("ExternalImportReference") or "").startswith(prefix)]
        go_ids = sorted(int(line["Id"]) for line in mine)
        refs = [line["ExternalImportReference"] for line in mine]
        if len(set(refs)) != len(refs):
            self.violate("a", tenant, export_id, f"{status}: a reference twice in Go: {sorted(refs)}")
        if status == "COMPLETED":
            recorded = sorted(
                int(line["salary_line_id"]) for line in detail["lines"] if line.get("salary_line_id")
            )
            if go_ids != recorded or len(recorded) != detail.get("line_count", len(detail["lines"])):
                self.violate(
                    "a",
                    tenant,
                    export_id,
                    f"COMPLETED: lines in Go {go_ids}, the record {recorded} of {detail.get('line_count')}",
                )
        elif status in ("ROLLED_BACK", "FAILED", "VALIDATION_FAILED"):
            if go_ids:
                self.violate("a", tenant, export_id, f"{status}: lines still in Go {go_ids} ({refs})")
        elif status == "ROLLBACK_INCOMPLETE":
            named = sorted(
                int(item["salary_line_id"]) for item in (detail.get("rollback") or {}).get("left_behind", [])
            )
            if go_ids != named:
                self.violate(
                    "a",
                    tenant,
                    export_id,
                    f"ROLLBACK_INCOMPLETE: lines in Go {go_ids}, the record names {named}",
                )
        if status in EXPECTED_ACTIONS and sorted(detail.get("actions", [])) != sorted(
            EXPECTED_ACTIONS[status]
        ):
            self.violate(
                "e",
                tenant,
                export_id,
                f"{status} offers {detail.get('actions')}, expected {EXPECTED_ACTIONS[status]}",
            )

    def _check_answers(self) -> None:
        for tenant, request, status, code in self.answers:
            if status >= 500 and code not in DOCUMENTED_5XX.get(status, set()):
                self.violate("d", tenant, None, f"{request} answered {status} {code or '(no code)'}")
        self.answers.clear()

    def close_offered_actions(self) -> None:
        """(c) every action offered works: the latest export of each company that offers one takes it."""
        for tenant, company in self.companies.items():
            offering = [e for e in self._exports(tenant) if e.get("actions")]
            if not offering:
                continue
            export = offering[0]
            action = export["actions"][-1]  # resume before rollback, so the export ends paid when it can
            answer = self._act(tenant, export, action)
            if answer.status_code in (200, 202):
                continue
            code = answer.json().get("code") if answer.content else None
            selected = _selected(export, company)
            if code == "ALREADY_EXPORTED" and all(self._paid(company, number) for number in selected):
                continue  # another export paid those trips: trying again rightly refuses
            self.violate(
                "c",
                tenant,
                export["export_id"],
                f"{export['status']} offers {action}: it answered "
                f"{answer.status_code} {code} {answer.text[:300]}",
            )
        self.wait_for_runs()
        self.check()

    def _paid(self, company: Company, number: str) -> bool:
        return any(
            company.employees.get(int(line["EmployeeId"])) == number for line in _in_go(self.stack, company)
        )


def _in_go(stack: LocalStack, company: Company) -> list[dict[str, Any]]:
    """The company's salary lines in PowerOffice Go (a line a Go user deleted pays nothing)."""
    return [
        line for line in stack.poweroffice.salary_lines(company.client_key) if not line.get("IsDeletedByUser")
    ]


def _selected(detail: dict[str, Any], company: Company) -> set[str]:
    """The employee numbers whose logbooks the export selected (all of the company's when it named none)."""
    logbooks = detail.get("logbook_ids")
    if not logbooks:
        return set(company.logbooks)
    return {number for number, ids in company.logbooks.items() if set(ids) & set(logbooks)}


def _abax_pair(stack: LocalStack, tenant: str) -> dict[str, str]:
    client_id, client_secret = stack.abax.credentials(tenant)
    return {"client_id": client_id, "client_secret": client_secret}


def run_plan(
    stack: LocalStack,
    plan: Scenario,
    log: Callable[[str], None] = lambda _: None,
    outcomes: Counter[str] | None = None,
) -> list[Violation]:
    """Run a scenario; its violations (`outcomes`, when given, counts the exports' statuses)."""
    log(plan.describe())
    run = Run(stack, plan, log)
    try:
        violations = run.run()
        log(f"  exports: {dict(run.outcomes)}")
        if outcomes is not None:
            outcomes.update(run.outcomes)
        return violations
    finally:
        run.close()
        stack.poweroffice.set_faults([])
        lambda_runtime.clear_crashes()


def run_seed(
    stack: LocalStack,
    seed: int,
    company_count: int,
    log: Callable[[str], None] = lambda _: None,
    event_count: int = 12,
    outcomes: Counter[str] | None = None,
) -> list[Violation]:
    return run_plan(stack, scenario(seed, company_count, event_count), log, outcomes)


def reproduction(seed: int, company_count: int, event_count: int = 12) -> str:
    return (
        f"PYTHONPATH=$PWD/shared:$PWD .venv/bin/python -m tests.chaos --seed {seed} --companies {company_count} "
        f"--events {event_count} -v"
    )
