"""Hostile requests over real HTTP: huge, malformed or mistyped bodies, unknown fields, bad tokens, bad ids.

Every answer is a 4xx application/problem+json that says what is wrong; never a 500.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from local.auth import AUDIENCE, ISSUER, mint_token
from local.stack import LocalStack
from tests.support import OCTOBER, activate, api_client, export_and_wait, good_logbooks, map_codes

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "problems"}


def assert_problem(
    response: httpx.Response, status: int | tuple[int, ...], code: str | None = None
) -> dict[str, Any]:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert set(body) >= PROBLEM_FIELDS, body
    assert body["status"] == response.status_code
    assert body["detail"], body
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.fixture
def acme(fresh: LocalStack) -> Iterator[httpx.Client]:
    with api_client(fresh, "acme", "admin") as client:
        yield client


# --- bodies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/exports/preview", "/exports", "/integrations/poweroffice/activate"])
def test_a_body_over_one_megabyte_is_refused_with_413(acme: httpx.Client, path: str) -> None:
    body = b'{"from": "2026-10-01", "to": "2026-10-31", "logbook_ids": ["' + b"x" * 1_100_000 + b'"]}'
    response = acme.post(path, content=body, headers={"Content-Type": "application/json"})
    problem = assert_problem(response, 413, "PAYLOAD_TOO_LARGE")
    assert "1000000" in problem["detail"]


def test_a_body_just_under_the_limit_is_read(acme: httpx.Client) -> None:
    ids = ["d:v:2026-10"] * 5000
    response = acme.post("/exports/preview", json={**OCTOBER, "logbook_ids": ids})
    assert response.status_code != 413
    assert response.status_code < 500, response.text[:500]


MALFORMED = [
    pytest.param(b"{", id="truncated"),
    pytest.param(b'{"from": "2026-10-01", "to": "2026-10-31",}', id="trailing-comma"),
    pytest.param(b"{'from': '2026-10-01'}", id="single-quotes"),
    pytest.param(b"\xff\xfe{\x00}", id="not-utf8"),
    pytest.param(b"\x00\x01\x02", id="binary"),
    pytest.param(b'{"from": "2026-10-01", "to": "2026-10-31"} trailing', id="garbage-after"),
    pytest.param(b'{"a":' * 2000 + b"1" + b"}" * 2000, id="deep-nesting"),
]


@pytest.mark.parametrize("body", MALFORMED)
@pytest.mark.parametrize(
    "method_path", [("POST", "/exports/preview"), ("PUT", "/payroll-codes"), ("PUT", "/schedule")]
)
def test_malformed_json_is_a_4xx_problem(
    acme: httpx.Client, body: bytes, method_path: tuple[str, str]
) -> None:
    method, path = method_path
    response = acme.request(method, path, content=body, headers={"Content-Type": "application/json"})
    problem = assert_problem(response, 400, "MALFORMED_JSON")
    assert "JSON" in problem["detail"]


def test_an_empty_body_says_the_body_is_missing(acme: httpx.Client) -> None:
    problem = assert_problem(acme.post("/exports/preview", content=b""), 422, "INVALID_REQUEST")
    assert "body" in problem["detail"]


WRONG_TYPES = [
    pytest.param(
        "POST", "/exports/preview", {"from": 20261001, "to": "2026-10-31"}, "from", id="date-as-number"
    ),
    pytest.param("POST", "/exports/preview", {"from": "2026-10-01", "to": None}, "to", id="date-null"),
    pytest.param(
        "POST", "/exports/preview", {**OCTOBER, "logbook_ids": "all"}, "logbook_ids", id="ids-as-string"
    ),
    pytest.param(
        "POST",
        "/exports/preview",
        {**OCTOBER, "logbook_ids": [1, {"a": 1}]},
        "logbook_ids",
        id="ids-of-objects",
    ),
    pytest.param(
        "POST", "/exports", {"from": ["2026-10-01"], "to": "2026-10-31"}, "from", id="export-date-list"
    ),
    pytest.param("PUT", "/schedule", {"enabled": "maybe", "day_of_month": 5}, "enabled", id="bool-as-word"),
    pytest.param(
        "PUT", "/schedule", {"enabled": True, "day_of_month": "fifth"}, "day_of_month", id="day-as-word"
    ),
    pytest.param("PUT", "/schedule", {"enabled": True, "day_of_month": 31}, "day_of_month", id="day-31"),
    pytest.param("PUT", "/schedule", {"enabled": True, "day_of_month": 1e300}, "day_of_month", id="day-huge"),
    pytest.param("PUT", "/payroll-codes", {"codes": ["710"]}, "codes", id="codes-as-list"),
    pytest.param("PUT", "/payroll-codes", {"codes": {"mileage": 710.5}}, "codes.mileage", id="code-as-float"),
    pytest.param("PUT", "/payroll-codes", {"codes": {"teleport": "710"}}, "codes", id="unknown-category"),
    pytest.param(
        "PUT",
        "/rates",
        {"rates": [{"category": "mileage", "valid_from": "2026-01-01", "rate": "NaN"}]},
        "rate",
        id="rate-nan",
    ),
    pytest.param(
        "PUT",
        "/rates",
        {"rates": [{"category": "mileage", "valid_from": "2026-01-01", "rate": "-5"}]},
        "rate",
        id="rate-negative",
    ),
    pytest.param(
        "PUT",
        "/rates",
        {"rates": [{"category": "mileage", "valid_from": "someday", "rate": "5.30"}]},
        "valid_from",
        id="rate-date",
    ),
    pytest.param(
        "POST", "/integrations/poweroffice/activate", {"client_key": 12345}, "client_key", id="key-as-number"
    ),
    pytest.param(
        "POST", "/integrations/poweroffice/activate", {"client_key": "   "}, "client_key", id="key-blank"
    ),
    pytest.param(
        "POST", "/integrations/poweroffice/activate", ["acme-demo-client-key-7f3a"], "body", id="body-a-list"
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), WRONG_TYPES)
def test_wrong_types_are_422_naming_the_field(
    acme: httpx.Client, method: str, path: str, body: Any, field: str
) -> None:
    problem = assert_problem(acme.request(method, path, json=body), 422, "INVALID_REQUEST")
    assert field in problem["detail"], problem
    fields = [item["field"] for p in problem["problems"] for item in p["items"]]
    assert any(field in name for name in fields), fields


UNKNOWN_FIELDS = [
    pytest.param(
        "POST", "/exports/preview", {**OCTOBER, "tenant_id": "beta"}, "tenant_id", id="preview-tenant"
    ),
    pytest.param("POST", "/exports", {**OCTOBER, "dry_run": True}, "dry_run", id="export-dry-run"),
    pytest.param(
        "PUT", "/schedule", {"enabled": True, "day_of_month": 3, "hour": 4}, "hour", id="schedule-hour"
    ),
    pytest.param("PUT", "/payroll-codes", {"codes": {}, "tenant": "beta"}, "tenant", id="codes-tenant"),
    pytest.param(
        "PUT",
        "/rates",
        {"rates": [{"category": "mileage", "valid_from": "2026-01-01", "rate": "5.30", "currency": "EUR"}]},
        "currency",
        id="rate-currency",
    ),
    pytest.param(
        "POST",
        "/integrations/poweroffice/activate",
        {"client_key": "k", "environment": "demo"},
        "environment",
        id="activate-env",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), UNKNOWN_FIELDS)
def test_unknown_fields_are_422_naming_the_field(
    acme: httpx.Client, method: str, path: str, body: Any, field: str
) -> None:
    problem = assert_problem(acme.request(method, path, json=body), 422, "INVALID_REQUEST")
    assert field in problem["detail"]
    items = [item for p in problem["problems"] for item in p["items"]]
    assert any(item["field"].endswith(field) and "not permitted" in item["error"] for item in items), items


# --- tokens ------------------------------------------------------------------------------------------


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "user-1",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "token_use": "id",
        "iat": now,
        "exp": now + 600,
        "email": "admin@acme.example",
        "cognito:groups": ["admin"],
        "custom:tenant_id": "acme",
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    forged = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"acme"', b'"beta"')
    ).decode()
    return f"{header}.{forged}.{signature}"


TOKENS = [
    pytest.param(lambda: mint_token("acme", "admin", expires_in=-60), "expired", id="expired"),
    pytest.param(
        lambda: jwt.encode(_claims(), "someone-elses-secret", algorithm="HS256"), "signature", id="other-key"
    ),
    pytest.param(lambda: _tampered(mint_token("acme", "admin")), "signature", id="tampered-payload"),
    pytest.param(lambda: jwt.encode(_claims(), None, algorithm="none"), "not valid", id="alg-none"),
    pytest.param(lambda: mint_token("acme", "admin", aud="another-app"), "audience", id="other-audience"),
    pytest.param(
        lambda: mint_token("acme", "admin", iss="https://evil.example"), "not valid", id="other-issuer"
    ),
    pytest.param(
        lambda: jwt.encode(
            _claims(exp=None), "local-development-signing-secret-not-for-production", algorithm="HS256"
        ),
        "not valid",
        id="no-expiry",
    ),
    pytest.param(lambda: "not-a-jwt", "not valid", id="garbage"),
    pytest.param(lambda: "", "no Bearer token", id="empty"),
]


@pytest.mark.parametrize(("make_token", "reason"), TOKENS)
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/exports"), ("POST", "/integrations/poweroffice/activate")]
)
def test_bad_tokens_are_401_with_the_reason(
    fresh: LocalStack, make_token: Any, reason: str, method: str, path: str
) -> None:
    token = make_token()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.request(
        method, f"{fresh.url}/v1{path}", headers=headers, json={"client_key": "x"}, timeout=30
    )
    problem = assert_problem(response, 401, "UNAUTHORIZED")
    assert reason in problem["detail"], problem


def test_other_schemes_than_bearer_are_401(fresh: LocalStack) -> None:
    response = httpx.get(
        f"{fresh.url}/v1/exports", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}, timeout=30
    )
    assert "no Bearer token" in assert_problem(response, 401, "UNAUTHORIZED")["detail"]


def test_a_token_without_a_tenant_claim_is_403(fresh: LocalStack) -> None:
    with api_client(fresh, None, "admin") as client:
        for method, path in [
            ("GET", "/exports"),
            ("GET", "/integrations/poweroffice"),
            ("POST", "/exports/preview"),
        ]:
            response = client.request(method, path, json=OCTOBER)
            problem = assert_problem(response, 403, "FORBIDDEN")
            assert "custom:tenant_id" in problem["detail"]


def test_a_token_with_an_empty_tenant_claim_is_403(fresh: LocalStack) -> None:
    with api_client(fresh, "", "admin") as client:
        assert "custom:tenant_id" in assert_problem(client.get("/exports"), 403, "FORBIDDEN")["detail"]


def test_a_token_in_no_known_group_is_403(fresh: LocalStack) -> None:
    token = jwt.encode(
        _claims(**{"cognito:groups": ["superuser"]}),
        "local-development-signing-secret-not-for-production",
        algorithm="HS256",
    )
    response = httpx.get(f"{fresh.url}/v1/exports", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert "group" in assert_problem(response, 403, "FORBIDDEN")["detail"]


# --- export ids --------------------------------------------------------------------------------------


def test_another_companys_export_is_404(fresh: LocalStack) -> None:
    with api_client(fresh, "beta", "admin") as beta:
        activate(beta)
        map_codes(beta)
        ids = good_logbooks(beta)
        beta_export = export_and_wait(beta, OCTOBER, ids)["export_id"]
    with api_client(fresh, "acme", "admin") as acme:
        problem = assert_problem(acme.get(f"/exports/{beta_export}"), 404, "NOT_FOUND")
        assert beta_export in problem["detail"]
        assert "acme" not in problem["detail"] and "beta" not in problem["detail"]
        assert beta_export not in {
            e["export_id"] for e in acme.get("/exports", params={"limit": 100}).json()["exports"]
        }


NOT_IDS = [
    "20261101T120000Z-deadbeef",  # well formed, never issued
    "20261101T120000123Z-00000000",
    "x",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "%0A",
    "' OR '1'='1",
    "export_id",
    "{export_id}",
    "%F0%9F%92%A3",
    "a" * 64,
    "a" * 65,
    "a" * 5000,
    "20261101T120000Z-DEADBEEF",
]


@pytest.mark.parametrize("export_id", NOT_IDS)
def test_ids_that_are_not_ours_or_not_ids_are_404_or_422(acme: httpx.Client, export_id: str) -> None:
    """Longer than any id (64): 422 naming the limit; any other: 404, exactly as for an id of another company."""
    response = acme.get(f"/exports/{export_id}")
    if len(export_id) > 64:
        assert_problem(response, 422, "INVALID_REQUEST")
    else:
        assert_problem(response, 404, "NOT_FOUND")


def test_listing_with_a_forged_next_token_is_a_400_problem(acme: httpx.Client) -> None:
    for token in ["eyJ0ZW5hbnQiOiAiYmV0YSJ9", "not base64 !!", "A" * 512, '{"pk": "TENANT#beta"}']:
        response = acme.get("/exports", params={"next_token": token})
        assert_problem(response, 400, "INVALID_REQUEST")
    for limit in ["0", "-1", "101", "ten", "1e9"]:
        assert_problem(acme.get("/exports", params={"limit": limit}), 422, "INVALID_REQUEST")


def test_a_query_parameter_the_route_does_not_read_is_refused_by_name(acme: httpx.Client) -> None:
    problem = assert_problem(acme.get("/exports", params={"limt": "5"}), 422, "INVALID_REQUEST")
    assert "limt" in problem["detail"] and "limit, next_token" in problem["detail"]
    assert problem["problems"][0]["items"] == [
        {"field": "limt", "error": "unknown query parameter", "type": "unknown_query_parameter"}
    ]
    assert problem["params"] == {"fields": ["limt"]}  # the same, for a client that writes its own sentence
    assert_problem(acme.get("/payroll-codes", params={"tenant_id": "beta"}), 422, "INVALID_REQUEST")
    assert acme.get("/exports", params={"limit": "5"}).status_code == 200


def test_a_method_the_api_does_not_have_is_a_problem(acme: httpx.Client) -> None:
    for method, path in [("DELETE", "/exports"), ("PATCH", "/schedule"), ("GET", "/nothing-here")]:
        assert_problem(acme.request(method, path), 404, "NOT_FOUND")
