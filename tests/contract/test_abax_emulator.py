"""The ABAX emulator answers as NOTES.md describes the Open API: auth, limits, paging, expenses, controls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from local.emulators.abax import AbaxEmulator, create_app
from local.servers import serving

ACME_CLIENT = "acme-abax-client-4e7d"
ACME_SECRET = "acme-abax-secret-local-91f0c3"
DEMO = Path(__file__).resolve().parents[2] / "local" / "demo_data" / "abax.json"
PREFIX = "/emulators/abax"


@pytest.fixture(scope="module")
def abax_mounted() -> Iterator[tuple[str, AbaxEmulator]]:
    """The emulator mounted the way the local stack mounts it."""
    inner = create_app(json.loads(DEMO.read_text(encoding="utf-8")))
    app = Starlette(routes=[Mount(PREFIX, app=inner)])
    with serving(app) as base_url:
        yield base_url + PREFIX, inner.state.emulator


@pytest.fixture
def abax_http(abax_mounted) -> Iterator[httpx.Client]:
    abax_mounted[1].reset()
    with httpx.Client(base_url=abax_mounted[0], timeout=10) as http:
        yield http


def credentials(tenant_id: str) -> tuple[str, str]:
    """The API client ABAX issued the demo organisation labelled tenant_id."""
    organisation = next(
        o
        for o in json.loads(DEMO.read_text(encoding="utf-8"))["organizations"]
        if o["tenant_id"] == tenant_id
    )
    return organisation["client_id"], organisation["client_secret"]


def abax_token(http: httpx.Client, tenant_id: str = "acme") -> dict[str, str]:
    client_id, client_secret = credentials(tenant_id)
    answer = http.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": "open_api open_api.trips",
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and "open_api.trips" in body["scope"]
    return {"Authorization": f"Bearer {body['access_token']}"}


def trips_page(http: httpx.Client, headers: dict[str, str], **params: Any) -> httpx.Response:
    return http.get(
        "/v1/trips", params={"date_from": "2026-10-01", "date_to": "2026-10-31", **params}, headers=headers
    )


def test_each_organisation_has_its_own_api_client(abax_http):
    """ABAX issues an API client per customer organisation: the tenant label or another's secret is no login."""
    beta_client, beta_secret = credentials("beta")
    for client_id, client_secret in [
        ("acme", ACME_SECRET),
        (ACME_CLIENT, beta_secret),
        (beta_client, ACME_SECRET),
    ]:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        assert abax_http.post("/connect/token", data=form).json() == {"error": "invalid_client"}


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": ACME_CLIENT, "client_secret": "wrong"},
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": ACME_SECRET},
            "invalid_client",
        ),
        (
            {"grant_type": "password", "client_id": ACME_CLIENT, "client_secret": ACME_SECRET},
            "unsupported_grant_type",
        ),
    ],
)
def test_the_token_endpoint_refuses_bad_clients(abax_http, form, error):
    answer = abax_http.post("/connect/token", data=form)
    assert answer.status_code == 400 and answer.json() == {"error": error}


def test_the_api_needs_a_valid_bearer_token(abax_http, abax_mounted):
    assert trips_page(abax_http, {}).status_code == 401
    assert trips_page(abax_http, {"Authorization": "Bearer made-up"}).status_code == 401
    headers = abax_token(abax_http)
    assert trips_page(abax_http, headers).status_code == 200
    abax_mounted[1].advance(3601)  # tokens live 60 minutes
    assert trips_page(abax_http, headers).status_code == 401


def test_trips_have_the_documented_shape_and_utc_day_filter(abax_http):
    headers = abax_token(abax_http)
    body = trips_page(abax_http, headers).json()
    assert (body["page"], body["page_size"]) == (1, 1500)
    trip = body["items"][0]
    assert set(trip) >= {
        "id",
        "vehicle",
        "driver",
        "start",
        "finish",
        "distance",
        "purpose",
        "commercial_class",
    }
    assert set(trip["driver"]) >= {"id", "external_id", "name"}
    assert trip["start"]["location"]["timestamp"].endswith("Z")
    timestamps = [item["start"]["location"]["timestamp"] for item in body["items"]]
    # UTC dates: the 23:30Z trip of 31 October is listed (1 November in Oslo), the 22:45Z one of 30 September is not.
    assert "2026-10-31T23:30:00Z" in timestamps and "2026-09-30T22:45:00Z" not in timestamps
    assert all("2026-10-01" <= stamp[:10] <= "2026-10-31" for stamp in timestamps)


def test_paging_and_vehicle_filter(abax_http):
    headers = abax_token(abax_http)
    everything = trips_page(abax_http, headers).json()["items"]
    pages = [trips_page(abax_http, headers, page=n, page_size=20).json()["items"] for n in (1, 2, 3, 4)]
    assert [len(items) for items in pages] == [20, 20, 18, 0]
    assert sum(pages, []) == everything
    golf = trips_page(abax_http, headers, vehicle_id="v-101").json()["items"]
    assert golf and all(item["vehicle"]["id"] == "v-101" for item in golf)


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": None},
        {"date_to": "31.10.2026"},
        {"date_from": "2026-10-31", "date_to": "2026-10-01"},
        {"date_from": "2026-01-01", "date_to": "2026-04-02"},
        {"page": 0},
        {"page": "two"},
        {"page_size": 1501},
        {"page_size": 0},
    ],
)
def test_bad_trip_queries_are_400(abax_http, params):
    headers = abax_token(abax_http)
    query = {"date_from": "2026-10-01", "date_to": "2026-10-31", **params}
    answer = abax_http.get(
        "/v1/trips", params={k: v for k, v in query.items() if v is not None}, headers=headers
    )
    assert answer.status_code == 400 and answer.json()["detail"]


def test_exactly_three_months_is_allowed(abax_http):
    headers = abax_token(abax_http)
    assert trips_page(abax_http, headers, date_from="2026-01-31", date_to="2026-04-30").status_code == 200
    assert trips_page(abax_http, headers, date_from="2026-01-01", date_to="2026-04-01").status_code == 200


def test_expenses_by_trip_ids_at_most_150(abax_http):
    headers = abax_token(abax_http)
    answer = abax_http.get(
        "/v1/trips/expense",
        params=[("trip_ids", "t-acme-0001"), ("trip_ids", "t-acme-0002"), ("trip_ids", "unknown")],
        headers=headers,
    )
    items = answer.json()["items"]
    assert [item["trip_id"] for item in items] == ["t-acme-0001", "t-acme-0002"]
    assert set(items[0]) == {"trip_id", "expense", "extra"}
    assert items[0]["extra"]["passenger_name"] == "Kari Hansen, Per Olsen"
    ids = [("trip_ids", f"t-{n}") for n in range(151)]
    assert abax_http.get("/v1/trips/expense", params=ids, headers=headers).status_code == 400
    assert abax_http.get("/v1/trips/expense", headers=headers).status_code == 400
    # Organisations do not see each other's trips.
    beta = abax_token(abax_http, "beta")
    assert abax_http.get("/v1/trips/expense", params={"trip_ids": "t-acme-0001"}, headers=beta).json() == {
        "items": []
    }


def test_a_comma_joined_trip_ids_is_one_unknown_id(abax_http):
    """The server binds an array from the query: "a,b" is one id that matches nothing, with no error."""
    headers = abax_token(abax_http)
    answer = abax_http.get(
        "/v1/trips/expense", params={"trip_ids": "t-acme-0001,t-acme-0002"}, headers=headers
    )
    assert answer.status_code == 200 and answer.json() == {"items": []}


def test_people_and_vehicles_come_from_the_trips(abax_http):
    headers = abax_token(abax_http)
    people = {person["id"]: person for person in abax_http.get("/v1/people", headers=headers).json()["items"]}
    assert set(people) == {"d-1001", "d-1002", "d-1003", "d-1004", "d-1099"}
    assert people["d-1004"]["external_id"] is None
    vehicles = {
        v["id"]: v["commercial_class"] for v in abax_http.get("/v1/vehicles", headers=headers).json()["items"]
    }
    assert vehicles["v-900"] == "Company" and vehicles["v-101"] == "Private"
    assert abax_http.get("/v1/vehicles/v-101", headers=headers).json()["alias"] == "Olas Golf"
    assert abax_http.get("/v1/people/d-9", headers=headers).status_code == 404


def test_controls_rate_limit_faults_trips_and_reset(abax_http):
    headers = abax_token(abax_http)
    assert abax_http.put("/_control/rate-limit", json={"requests_per_minute": 1}).status_code == 200
    assert trips_page(abax_http, headers).status_code == 200
    limited = trips_page(abax_http, headers)
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    # X-Rate-Limit-Reset: the ISO 8601 instant the window resets (what the public SDK reads).
    reset = datetime.fromisoformat(limited.headers["X-Rate-Limit-Reset"].replace("Z", "+00:00"))
    assert reset.tzinfo is not None and 0 < (reset - datetime.now(UTC)).total_seconds() <= 60
    assert abax_http.post("/_control/reset").status_code == 204

    # A shorter window (tests scale ABAX's minute down) with the same headers; the 429s are counted.
    headers = abax_token(abax_http)
    answer = abax_http.put("/_control/rate-limit", json={"requests_per_minute": 1, "window_seconds": 5})
    assert answer.json() == {"requests_per_minute": 1, "window_seconds": 5.0, "rate_limited": 0}
    assert trips_page(abax_http, headers).status_code == 200
    limited = trips_page(abax_http, headers)
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 5
    reset = datetime.fromisoformat(limited.headers["X-Rate-Limit-Reset"].replace("Z", "+00:00"))
    assert 0 < (reset - datetime.now(UTC)).total_seconds() <= 5
    again = abax_http.put("/_control/rate-limit", json={"requests_per_minute": 1, "window_seconds": 5})
    assert again.json()["rate_limited"] == 1
    for bad in (
        {"requests_per_minute": 1, "window_seconds": 0},
        {"requests_per_minute": 1, "window_seconds": "x"},
    ):
        assert abax_http.put("/_control/rate-limit", json=bad).status_code == 400
    assert abax_http.post("/_control/reset").status_code == 204

    headers = abax_token(abax_http)
    rule = {"method": "GET", "path": "/v1/people", "nth": 2, "times": 2, "status": 503}
    assert abax_http.post("/_control/faults", json={"rules": [rule]}).status_code == 200
    statuses = [abax_http.get("/v1/people", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 503, 503, 200]

    trip = trips_page(abax_http, headers).json()["items"][0]
    added = {**trip, "id": "t-new", "start": {"location": {"timestamp": "2026-12-01T08:00:00Z"}}}
    body = {
        "tenant_id": "beta",
        "trips": [added],
        "expenses": [{"trip_id": "t-new", "expense": {"ferry": 99}, "extra": {}}],
    }
    assert abax_http.post("/_control/trips", json=body).status_code == 200
    beta = abax_token(abax_http, "beta")
    december = trips_page(abax_http, beta, date_from="2026-12-01", date_to="2026-12-31").json()["items"]
    assert [item["id"] for item in december] == ["t-new"]
    assert abax_http.post("/_control/reset").status_code == 204
    beta = abax_token(abax_http, "beta")
    assert trips_page(abax_http, beta, date_from="2026-12-01", date_to="2026-12-31").json()["items"] == []
    assert abax_http.post("/_control/trips", json={"trips": [added]}).status_code == 400
