"""`abax-payroll local demo`: the seed's story end to end on the local stack, printed as a payroll administrator sees it."""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

import boto3
import httpx

from .auth import mint_token
from .aws import REGION
from .stack import LocalStack

ACME_CLIENT_KEY = "acme-demo-client-key-7f3a"
WRONG_CLIENT_KEY = "acme-demo-client-key-0000"
CODES_WITH_MISTAKES = {
    "mileage": "710",
    "passenger": "711",
    "trailer": "799",  # a code that does not exist in PowerOffice Go
    "forest_road": "713",
    "heavy_load": "720",  # a km category on an expense-refund pay item
    "toll": None,  # tolls with no code
    "parking": "721",
    "ferry": "722",
}
CODES = {**CODES_WITH_MISTAKES, "trailer": "712", "heavy_load": "714", "toll": "720"}
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def say(text: str = "") -> None:
    print(text, flush=True)


def heading(text: str) -> None:
    say()
    say(f"== {text} " + "=" * max(0, 74 - len(text)))


def _port(preferred: int) -> int | None:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return None


def _problems(body: dict[str, Any]) -> None:
    for problem in body.get("problems", []):
        say(f"  ✗ {problem['code']}: {problem['message']}")
        for item in problem.get("items", [])[:6]:
            say("      - " + ", ".join(f"{key}={value}" for key, value in item.items() if key != "logbooks"))


def _lines(lines: list[dict[str, Any]], with_ids: bool = False) -> None:
    say(
        f"  {'ansattnr':<9}{'navn':<16}{'lønnsart':<10}{'kategorier':<22}{'antall':>10}{'sats':>7}{'beløp':>11}"
        + ("  PowerOffice id" if with_ids else "")
    )
    for line in lines:
        say(
            f"  {line['employee_number']:<9}{line['employee_name'][:15]:<16}{line['pay_item_code']:<10}"
            f"{','.join(line['categories'])[:21]:<22}{line['quantity'] or '':>10}{line['rate'] or '':>7}{line['amount']:>11}"
            + (f"  {line.get('salary_line_id')}" if with_ids else "")
        )


def _wait(client: httpx.Client, export_id: str) -> dict[str, Any]:
    shown = -1
    while True:
        export = client.get(f"/exports/{export_id}").json()
        if export["lines_pushed"] != shown and export["status"] == "RUNNING" and export["line_count"]:
            shown = export["lines_pushed"]
            say(f"  … {shown} of {export['line_count']} salary lines created")
        if export["status"] != "RUNNING":
            return export
        time.sleep(0.3)


def _history(execution_arn: str) -> None:
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    events = stepfunctions.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    for event in events:
        details = next((value for key, value in event.items() if key.endswith("EventDetails")), {})
        name = details.get("name") or details.get("error") or ""
        if event["type"].endswith(("StateEntered", "Failed", "Succeeded", "Aborted")) or event[
            "type"
        ].startswith("Execution"):
            say(f"  {event['id']:>3}  {event['type']:<28} {name}")


def story(stack: LocalStack) -> None:
    api = f"{stack.url}/v1"
    admin = httpx.Client(
        base_url=api,
        headers={"Authorization": f"Bearer {mint_token('acme', 'admin', email='admin@acme.no')}"},
        timeout=60,
    )
    payroll = httpx.Client(
        base_url=api,
        headers={"Authorization": f"Bearer {mint_token('acme', 'payroll', email='lonn@acme.no')}"},
        timeout=60,
    )

    heading("1. Admin > Integrasjoner: PowerOffice Go")
    say(f"  status: {admin.get('/integrations/poweroffice').json()['status']}")
    say("  Aktiver → client key dialog; the admin pastes a key with a typo:")
    failed = admin.post("/integrations/poweroffice/activate", json={"client_key": WRONG_CLIENT_KEY})
    say(f"  ✗ {failed.status_code} {failed.json()['code']}: {failed.json()['detail']}")
    activated = admin.post("/integrations/poweroffice/activate", json={"client_key": ACME_CLIENT_KEY}).json()
    say(
        f"  ✓ Integration godkjent: {activated['status']} for {activated['client_name']} (by {activated['activated_by']})"
    )
    blocked = payroll.post("/integrations/poweroffice/deactivate")
    say(f"  (the payroll role may not switch it off: {blocked.status_code} {blocked.json()['code']})")
    say(
        "  Admin > Integrasjoner: ABAX: the admin pastes the API client ABAX issued Acme (client id and secret):"
    )
    abax_client_id, abax_client_secret = stack.abax.credentials("acme")
    connected = admin.post(
        "/integrations/abax/activate", json={"client_id": abax_client_id, "client_secret": abax_client_secret}
    ).json()
    say(f"  ✓ ABAX tilkoblet: {connected['status']} (verified with a token and a trips call)")

    heading("2. Lønnskoder: the payroll department maps categories to pay items")
    payroll.put("/payroll-codes", json={"codes": CODES_WITH_MISTAKES})
    for category, code in CODES_WITH_MISTAKES.items():
        say(f"  {category:<12} → {code or '(none)'}")
    rates = payroll.get("/rates").json()["rates"]
    say(
        "  rates (state defaults): "
        + ", ".join(
            f"{r['category']} {r['rate']} from {r['valid_from']}" for r in rates if r["category"] == "mileage"
        )
    )

    heading("3. Eksport > Søk: October 2026")
    preview = payroll.post("/exports/preview", json=OCTOBER).json()
    for logbook in preview["logbooks"]:
        driver = logbook["driver"]
        say(
            f"  kjørebok {logbook['logbook_id']:<24} {driver['name']:<14} ansattnr {driver['employee_number'] or '—':<6} {logbook['trips']:>3} turer {logbook['km']:>9} km"
        )
    say(f"  ready: {preview['ready']} — every problem at once:")
    _problems(preview)

    heading("4. The fixes")
    payroll.put("/payroll-codes", json={"codes": CODES})
    say("  codes: trailer 799 → 712, heavy_load 720 → 714, toll → 720")
    httpx.post(
        f"{stack.url}/emulators/poweroffice/_control/employees",
        json={
            "client_key": ACME_CLIENT_KEY,
            "employees": [
                {"Id": 500099, "Number": 1099, "FirstName": "Lise", "LastName": "Moe", "IsArchived": False}
            ],
        },
    )
    say("  PowerOffice Go: Lise Moe added as employee 1099")
    chosen = [lb["logbook_id"] for lb in preview["logbooks"] if lb["driver"]["employee_number"]]
    say("  Nils Bakke has no employee number in ABAX yet: his logbook is left out of this export")
    preview = payroll.post("/exports/preview", json={**OCTOBER, "logbook_ids": chosen}).json()
    say(
        f"  ready: {preview['ready']}; {preview['totals']['lines']} salary lines, total {preview['totals']['amount']} kr"
    )
    _lines(preview["lines"])

    heading("5. Eksporter")
    started = payroll.post("/exports", json={**OCTOBER, "logbook_ids": chosen})
    export_id = started.json()["export_id"]
    say(f"  {started.status_code}: export {export_id} {started.json()['status']}")
    done = _wait(payroll, export_id)
    say(
        f"  ✓ {done['status']}: {done['lines_pushed']} salary lines in PowerOffice Go, {done['total_amount']} kr"
    )
    _lines(done["lines"], with_ids=True)
    in_go = stack.poweroffice.salary_lines(ACME_CLIENT_KEY)
    say(
        f"  PowerOffice Go > Lønn > Importert lønnsgrunnlag now holds {len(in_go)} lines, e.g. “{in_go[0]['Comment']}”"
    )
    say(
        f"  of it tax-free {done['tax_free_amount']} kr (3.50 per km, supplements, outlays) and taxable "
        f"{done['taxable_amount']} kr (the km allowance above 3.50; pay item 710 withholds tax on it)"
    )
    report = payroll.get(f"/exports/{export_id}/report.csv").content.decode("utf-8-sig").splitlines()
    columns = next(at for at, row in enumerate(report) if row.startswith("Ansattnummer;"))
    say(f"  documentation report, GET /v1/exports/{export_id}/report.csv ({len(report) - columns - 1} rows):")
    for row in [
        *report[:columns],
        *report[columns : columns + 3],
    ]:  # the header (company, period...), then rows
        if row:
            say(f"    {row}")
    again = payroll.post("/exports", json={**OCTOBER, "logbook_ids": chosen})
    say(f"  exporting October again: {again.status_code} {again.json()['code']} — {again.json()['detail']}")

    heading("6. A push that fails: November 2026, PowerOffice Go errors from the 3rd line on")
    httpx.post(
        f"{stack.url}/emulators/poweroffice/_control/faults",
        json={"rules": [{"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 1000, "status": 500}]},
    )
    failed_export = payroll.post("/exports", json=NOVEMBER).json()
    rolled = _wait(payroll, failed_export["export_id"])
    httpx.post(f"{stack.url}/emulators/poweroffice/_control/faults", json={"rules": []})
    say(f"  ✗ {rolled['status']}: {rolled['error']['message']}")
    say(
        f"  rollback: {rolled['rollback']['deleted']} created lines deleted, {len(rolled['rollback']['left_behind'])} left behind"
    )
    say(
        f"  PowerOffice Go still holds only October's {len(stack.poweroffice.salary_lines(ACME_CLIENT_KEY))} lines"
    )
    retry = payroll.post("/exports", json=NOVEMBER).json()
    retried = _wait(payroll, retry["export_id"])
    say(f"  the period is free again: re-export → {retried['status']} with {retried['lines_pushed']} lines")

    heading("7. Eksporter: the list, newest first")
    for export in payroll.get("/exports").json()["exports"]:
        period = export["period"]
        say(
            f"  {export['export_id']}  {period['from']}..{period['to']}  {export['status']:<20} {export['trigger']:<8} {export['line_count']:>3} lines  {export['total_amount'] or '':>10} kr"
        )

    heading("8. Step Functions execution history (what admins see in the console)")
    say(f"  execution {rolled['export_id']} (rolled back):")
    _history(rolled["execution_arn"])
    say(f"  execution {done['export_id']} (completed):")
    _history(done["execution_arn"])


def run_demo(port: int | None = None) -> int:
    # The story is the output: keep the functions' JSON logs, metrics and retry notices out of it.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    import logging
    import warnings

    for noisy in ("moto", "abax_payroll", "httpx"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    stack = LocalStack(port=port or _port(8000)).start()
    try:
        say(f"Local stack on {stack.url}: API /v1, emulators /emulators/poweroffice and /emulators/abax")
        story(stack)
        say()
        say(f"Web app: {stack.url}/  (sign in with the development login: tenant acme, role admin)")
        if sys.stdin.isatty():
            say("The stack keeps running so you can click through the same story; Ctrl+C stops it.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        stack.stop()
    return 0
