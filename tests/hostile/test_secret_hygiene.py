"""Secret hygiene: no client key, platform key or access token in any log line or API answer.

The end-to-end story runs on the local stack (activate with a wrong and then the right key, preview,
an export that rolls back after a forced PowerOffice failure, an export that completes after
PowerOffice expired our token, the list and every record, switching the integration off and on, a
401) while every log record of the process (powertools' JSON logger, the standard loggers of moto,
httpx, botocore and the rest, with the root logger at DEBUG as for a function logging at DEBUG),
everything written to stdout and stderr, and every API answer (status line, headers and body) are
kept. Then none may contain: the client keys, the wrong key tried, the PowerOffice application and
subscription keys and the ABAX client secret (as LocalStack put them in the environment), any access
token the PowerOffice Go or ABAX emulator issued, or the users' Bearer tokens; neither as they are
nor base64-encoded, as an HTTP Basic header would carry them. The Step Functions executions (what an
admin sees in the console) and the DynamoDB items are scanned too.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from local.aws import REGION, TABLE
from local.stack import LocalStack
from tests.support import (
    ACME_KEY,
    BETA_KEY,
    OCTOBER,
    abax_credentials,
    api_client,
    connect_abax,
    good_logbooks,
    map_codes,
    set_faults,
    wait_for_export,
)

WRONG_KEY = "acme-wrong-client-key-0000-d9e1"
WRONG_ABAX_SECRET = "acme-wrong-abax-secret-77c1"
SERVICE_LOGGER = "abax-payroll"


class Keep(logging.Handler):
    """Every record, formatted the way its own handler would (powertools: one JSON line)."""

    def __init__(self, formatter: logging.Formatter | None = None) -> None:
        super().__init__(logging.DEBUG)
        if formatter is not None:
            self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception as error:  # a record that cannot be formatted still counts
            text = f"{record.getMessage()} {record.args!r} ({error})"
        self.lines.append(text)
        # What a formatter might leave out: raw arguments, extra fields, the exception.
        self.lines.append(json.dumps({k: repr(v) for k, v in vars(record).items()}, default=repr))


class Recorder:
    def __init__(self) -> None:
        self.answers: list[str] = []

    def record(self, response: httpx.Response) -> None:
        response.read()
        headers = "\n".join(f"{key}: {value}" for key, value in response.headers.items())
        self.answers.append(
            f"{response.request.method} {response.request.url} -> {response.status_code}\n{headers}\n{response.text}"
        )


@pytest.fixture
def captured_logs() -> Iterator[list[Keep]]:
    """A handler on the root logger and on every logger that does not pass records up to it."""
    service = logging.getLogger(SERVICE_LOGGER)
    formatter = service.handlers[0].formatter if service.handlers else None
    keepers = [Keep(), Keep(formatter)]
    root = logging.getLogger()
    saved_levels: dict[logging.Logger, int] = {}
    attached: list[tuple[logging.Logger, Keep]] = [(root, keepers[0]), (service, keepers[1])]
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and not logger.propagate and name != SERVICE_LOGGER:
            attached.append((logger, keepers[0]))
    for logger, keeper in attached:
        logger.addHandler(keeper)
    # The root logger at DEBUG, as Lambda's advanced logging controls set it for a function logging at
    # DEBUG; the AWS SDK's loggers keep the level the product gives them (abax_payroll.observability).
    # moto and the local servers stand in for AWS and are not the product: INFO.
    levels = {SERVICE_LOGGER: logging.DEBUG}
    for name in ("moto", "uvicorn", "uvicorn.access", "uvicorn.error", "starlette"):
        levels[name] = logging.INFO
    for name, level in levels.items():
        logger = logging.getLogger(name)
        saved_levels[logger] = logger.level
        logger.setLevel(level)
    saved_root = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield keepers
    finally:
        for logger, keeper in attached:
            logger.removeHandler(keeper)
        for logger, level in saved_levels.items():
            logger.setLevel(level)
        root.setLevel(saved_root)


def _hooked(client: httpx.Client, recorder: Recorder) -> httpx.Client:
    client.event_hooks["response"] = [recorder.record]
    return client


def _step_functions_text() -> str:
    """What an admin sees in the Step Functions console: every execution's input, output and history."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    parts: list[str] = []
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            parts.append(
                json.dumps(sfn.describe_execution(executionArn=execution["executionArn"]), default=str)
            )
            history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
            parts.append(json.dumps(history["events"], default=str))
    return "\n".join(parts)


def _table_text() -> str:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    items = [
        item for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE) for item in page["Items"]
    ]
    return json.dumps(items, default=str)


def _needles(stack: LocalStack, bearer_tokens: list[str]) -> dict[str, str]:
    """Name -> secret value; each also base64-encoded (alone and as app:client), as Basic auth carries it."""
    plain = {
        "acme client key": ACME_KEY,
        "beta client key": BETA_KEY,
        "wrong client key": WRONG_KEY,
        "PowerOffice application key": os.environ["POWEROFFICE_APPLICATION_KEY"],
        "PowerOffice subscription key": os.environ["POWEROFFICE_SUBSCRIPTION_KEY"],
        "acme ABAX client secret": abax_credentials("acme")[1],
        "beta ABAX client secret": abax_credentials("beta")[1],
        "wrong ABAX client secret": WRONG_ABAX_SECRET,
    }
    with stack.poweroffice.lock:
        poweroffice_tokens = list(stack.poweroffice.tokens)
    with stack.abax.lock:
        abax_tokens = list(stack.abax._tokens)
    assert poweroffice_tokens, "the story fetched no PowerOffice Go token: nothing was checked"
    assert abax_tokens, "the story fetched no ABAX token: nothing was checked"
    plain.update({f"PowerOffice access token #{i}": token for i, token in enumerate(poweroffice_tokens)})
    plain.update({f"ABAX access token #{i}": token for i, token in enumerate(abax_tokens)})
    plain.update({f"user's Bearer token #{i}": token for i, token in enumerate(bearer_tokens)})
    needles = dict(plain)
    application = os.environ["POWEROFFICE_APPLICATION_KEY"]
    for name, value in plain.items():
        needles[f"{name} (base64)"] = base64.b64encode(value.encode()).decode()
    for name, key in (("acme", ACME_KEY), ("beta", BETA_KEY), ("wrong", WRONG_KEY)):
        needles[f"{name} Basic credentials"] = base64.b64encode(f"{application}:{key}".encode()).decode()
    return needles


def _leaks(texts: dict[str, str], needles: dict[str, str]) -> list[str]:
    found = []
    for where, text in texts.items():
        for name, secret in needles.items():
            if secret and secret in text:
                at = text.index(secret)
                found.append(f"{name} in {where}: ...{text[max(0, at - 200) : at + len(secret) + 50]}...")
    return found


def test_no_secret_in_any_log_line_answer_execution_or_table_item(
    fresh: LocalStack, captured_logs: list[Keep], capfd: pytest.CaptureFixture[str]
) -> None:
    stack = fresh
    recorder = Recorder()
    bearer_tokens: list[str] = []

    def client(tenant: str, role: str = "admin", **claims: Any) -> httpx.Client:
        made = _hooked(api_client(stack, tenant, role, **claims), recorder)
        bearer_tokens.append(made.headers["Authorization"].split()[1])
        return made

    with client("acme") as acme, client("acme", "payroll") as payroll, client("beta") as beta:
        # Activation: a wrong key, a payroll user trying, then the right key; beta too.
        rejected = acme.post("/integrations/poweroffice/activate", json={"client_key": WRONG_KEY})
        assert rejected.status_code == 400 and rejected.json()["code"] == "CLIENT_KEY_REJECTED"
        assert (
            payroll.post("/integrations/poweroffice/activate", json={"client_key": ACME_KEY}).status_code
            == 403
        )
        assert (
            acme.post("/integrations/poweroffice/activate", json={"client_key": ACME_KEY}).status_code == 200
        )
        assert (
            beta.post("/integrations/poweroffice/activate", json={"client_key": BETA_KEY}).status_code == 200
        )
        assert acme.get("/integrations/poweroffice").json()["status"] == "active"
        # ABAX: a wrong secret, then the organisation's own API client.
        acme_abax_id, acme_abax_secret = abax_credentials("acme")
        wrong_abax = acme.post(
            "/integrations/abax/activate",
            json={"client_id": acme_abax_id, "client_secret": WRONG_ABAX_SECRET},
        )
        assert wrong_abax.status_code == 400 and wrong_abax.json()["code"] == "ABAX_CREDENTIALS_REJECTED"
        connect_abax(acme)
        connect_abax(beta)
        map_codes(acme)

        # Search: with every problem of the demo company, then only the good logbooks.
        assert acme.post("/exports/preview", json=OCTOBER).status_code == 200
        logbooks = good_logbooks(acme)

        # A push that fails on the second line and rolls back.
        set_faults(stack, [{"method": "POST", "path": "/SalaryLines", "nth": 2, "times": 100, "status": 500}])
        started = acme.post("/exports", json={**OCTOBER, "logbook_ids": logbooks})
        assert started.status_code == 202, started.text
        rolled_back = wait_for_export(acme, started.json()["export_id"])
        assert rolled_back["status"] == "ROLLED_BACK", rolled_back
        set_faults(stack, [])

        # PowerOffice Go forgets the tokens it gave out (a new one is needed); the export completes.
        stack.poweroffice.expire_tokens()
        started = payroll.post("/exports", json={**OCTOBER, "logbook_ids": logbooks})
        assert started.status_code == 202, started.text
        completed = wait_for_export(payroll, started.json()["export_id"])
        assert completed["status"] == "COMPLETED", completed
        # The same trips again: 409 ALREADY_EXPORTED.
        assert payroll.post("/exports", json={**OCTOBER, "logbook_ids": logbooks}).status_code == 409

        for export in acme.get("/exports", params={"limit": 100}).json()["exports"]:
            assert acme.get(f"/exports/{export['export_id']}").status_code == 200
        assert acme.get("/payroll-codes").status_code == 200
        assert acme.get("/rates").status_code == 200
        assert acme.get("/schedule").status_code == 200

        # Switch off and on again; a 401 and an expired token.
        assert acme.post("/integrations/poweroffice/deactivate").status_code == 200
        assert (
            acme.post("/integrations/poweroffice/activate", json={"client_key": ACME_KEY}).status_code == 200
        )
    with _hooked(httpx.Client(base_url=f"{stack.url}/v1", timeout=30), recorder) as anonymous:
        assert anonymous.get("/exports").status_code == 401
        assert (
            anonymous.post("/integrations/poweroffice/activate", json={"client_key": ACME_KEY}).status_code
            == 401
        )
    with client("acme", expires_in=-60) as expired:
        assert (
            expired.post("/integrations/poweroffice/activate", json={"client_key": WRONG_KEY}).status_code
            == 401
        )

    output = capfd.readouterr()
    logs_root, logs_service = captured_logs
    # The capture works: the story's own log lines are there.
    service_lines = "\n".join(logs_service.lines)
    every_line = service_lines + "\n".join(logs_root.lines)
    for message in (
        "integration activated",
        "export rolled back",
        "export completed",
        "fetched a PowerOffice Go access token",
    ):
        assert message in every_line, f"{message!r} was not logged: the capture missed the service's logs"
    assert any('"level":"INFO"' in line for line in logs_service.lines), (
        "powertools' JSON lines were not captured"
    )
    assert any("HTTP Request" in line for line in logs_root.lines), "httpx's log lines were not captured"

    texts = {
        "the service's log lines": service_lines,
        "the other loggers' lines": "\n".join(logs_root.lines),
        "stdout": output.out,
        "stderr": output.err,
        **{f"API answer #{i}": answer for i, answer in enumerate(recorder.answers)},
        "Step Functions executions": _step_functions_text(),
        "DynamoDB items": _table_text(),
    }
    leaks = _leaks(texts, _needles(stack, bearer_tokens))
    assert not leaks, "secrets leaked:\n" + "\n\n".join(leaks[:20])
