"""Inputs that used to end in a 500: each now gets a 4xx (or 502) problem+json that says what is wrong.

Dates at the ends of the calendar, a body that is not JSON, thousands of logbook ids, ABAX answering a
page without items or a 404, group names that only look like ours, a malformed groups claim, and an
activation body that POWERTOOLS_LOGGER_LOG_EVENT=true would have written to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import jwt
import pytest

from local.auth import AUDIENCE, ISSUER
from local.stack import LocalStack
from tests.support import ACME_KEY, OCTOBER, activate, api_client, map_codes

from .test_hostile_requests import assert_problem

JWT_SECRET = "local-development-signing-secret-not-for-production"


@pytest.fixture
def acme(fresh: LocalStack) -> Iterator[httpx.Client]:
    with api_client(fresh, "acme", "admin") as client:
        activate(client)
        map_codes(client)
        yield client


@pytest.mark.parametrize(
    "period",
    [
        {"from": "0001-01-01", "to": "0001-01-31"},
        {"from": "9999-12-01", "to": "9999-12-31"},
        {"from": "0001-01-01", "to": "9999-12-31"},
    ],
)
@pytest.mark.parametrize("path", ["/exports/preview", "/exports"])
def test_dates_at_the_ends_of_the_calendar_are_a_4xx(
    acme: httpx.Client, period: dict[str, str], path: str
) -> None:
    body = assert_problem(acme.post(path, json=period), (400, 422))
    assert "from" in body["detail"] or "to" in body["detail"]


@pytest.mark.parametrize("path", ["/exports/preview", "/exports", "/integrations/poweroffice/activate"])
def test_an_xml_body_is_a_4xx_that_says_json_is_expected(acme: httpx.Client, path: str) -> None:
    response = acme.post(
        path, content=b"<period><from>2026-10-01</from></period>", headers={"Content-Type": "application/xml"}
    )
    body = assert_problem(response, (400, 415))
    assert "JSON" in body["detail"]


def test_thousands_of_logbook_ids_are_refused_before_the_record_outgrows_dynamodb(acme: httpx.Client) -> None:
    ids = [f"d-{n:05d}-with-a-longish-driver-id:v-{n:05d}-and-vehicle:2026-10" for n in range(2500)]
    body = assert_problem(acme.post("/exports", json={**OCTOBER, "logbook_ids": ids}), 422, "INVALID_REQUEST")
    assert "logbook_ids" in body["detail"]
    assert acme.get("/exports").json()["exports"] == []


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 404},
        # A 200 whose body has no items list.
        {"status": 200},
    ],
    ids=["404-page", "page-without-items"],
)
def test_an_abax_page_it_cannot_read_is_a_502_problem(
    fresh: LocalStack, acme: httpx.Client, fault: dict
) -> None:
    rule = {"method": "GET", "path": "/v1/trips", "nth": 1, "times": 100, **fault}
    assert (
        httpx.post(
            f"{fresh.url}/emulators/abax/_control/faults", json={"rules": [rule]}, timeout=10
        ).status_code
        == 200
    )
    body = assert_problem(acme.post("/exports/preview", json=OCTOBER), 502, "ABAX_UNAVAILABLE")
    assert "ABAX" in body["detail"]


def _token(groups: object) -> str:
    import time

    now = int(time.time())
    claims = {
        "sub": "u-1",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "token_use": "id",
        "iat": now,
        "exp": now + 600,
        "email": "someone@acme.example",
        "custom:tenant_id": "acme",
        "cognito:groups": groups,
    }
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize("groups", [["admin "], ["[admin]"], ["admin,payroll"], [" payroll"], ["Admin"]])
def test_only_exact_group_names_grant_a_role(fresh: LocalStack, groups: list[str]) -> None:
    headers = {"Authorization": f"Bearer {_token(groups)}"}
    for method, path in [("GET", "/exports"), ("POST", "/integrations/poweroffice/activate")]:
        response = httpx.request(
            method, f"{fresh.url}/v1{path}", headers=headers, json={"client_key": ACME_KEY}, timeout=30
        )
        assert_problem(response, 403, "FORBIDDEN")


@pytest.mark.parametrize("groups", [{"admin": True}, 7, [["admin"]], [None]])
def test_a_malformed_groups_claim_is_401(fresh: LocalStack, groups: object) -> None:
    response = httpx.get(
        f"{fresh.url}/v1/exports", headers={"Authorization": f"Bearer {_token(groups)}"}, timeout=30
    )
    body = assert_problem(response, 401, "UNAUTHORIZED")
    assert "cognito:groups" in body["detail"]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {vars(record)!r}")


def test_event_logging_never_writes_the_activation_body(
    fresh: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    service = logging.getLogger("abax-payroll")
    kept = _Lines()
    service.addHandler(kept)
    secret_key = "acme-never-logged-client-key-4b2f"
    try:
        with api_client(fresh, "acme", "admin") as client:
            assert (
                client.post("/integrations/poweroffice/activate", json={"client_key": secret_key}).status_code
                == 400
            )
            assert (
                client.post("/integrations/poweroffice/activate", json={"client_key": ACME_KEY}).status_code
                == 200
            )
    finally:
        service.removeHandler(kept)
    text = "\n".join(kept.lines)
    assert "/integrations/poweroffice/activate" in text  # the event was logged ...
    assert secret_key not in text and ACME_KEY not in text  # ... without its body
