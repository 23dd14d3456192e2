"""The ABAX client and adapter against the ABAX emulator over real HTTP: paging, windows, batches, retries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from abax_payroll.abax import AbaxAuthFailed, AbaxClient, AbaxUnavailable, fetch_trips
from abax_payroll.domain.categories import Category
from abax_payroll.domain.logbooks import build_logbooks
from abax_payroll.domain.period import Period
from local.emulators.abax import AbaxEmulator, create_app
from local.servers import serving

ABAX_SECRET = "abax-test-secret-5d1e"
DEMO = Path(__file__).resolve().parents[2] / "local" / "demo_data" / "abax.json"
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


def abax_bulk(tenant_id: str, count: int, first: datetime, step: timedelta) -> dict[str, Any]:
    """count business trips in private cars, one every `step`, each with a toll of 10 NOK."""
    trips, expenses = [], []
    for n in range(count):
        started = first + step * n
        trips.append(
            {
                "id": f"{tenant_id}-{n:05d}",
                "vehicle": {"id": f"v-{n % 7}", "alias": "Bil", "commercial_class": "Private"},
                "driver": {"id": f"d-{n % 7}", "external_id": str(500 + n % 7), "name": f"Sjåfør {n % 7}"},
                "start": {
                    "location": {"timestamp": started.strftime("%Y-%m-%dT%H:%M:%SZ")},
                    "address": "Oslo",
                },
                "finish": {
                    "location": {
                        "timestamp": (started + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
                    }
                },
                "distance": 12.3,
                "purpose": "Service",
                "commercial_class": "BusinessTrip",
            }
        )
        expenses.append({"trip_id": f"{tenant_id}-{n:05d}", "expense": {"toll_charge": 10.0}, "extra": {}})
    return {
        "tenant_id": tenant_id,
        "client_id": f"{tenant_id}-client",
        "client_secret": ABAX_SECRET,
        "trips": trips,
        "expenses": expenses,
    }


@pytest.fixture(scope="module")
def abax_server() -> Iterator[tuple[str, AbaxEmulator]]:
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    # 3,100 trips in October (three pages) and 400 trips spread over a year (several windows).
    data["organizations"].append(
        abax_bulk("bulk", 3100, datetime(2026, 10, 1, 6, tzinfo=UTC), timedelta(minutes=13))
    )
    data["organizations"].append(
        abax_bulk("year", 400, datetime(2026, 1, 1, 9, tzinfo=UTC), timedelta(hours=21))
    )
    app = create_app(data)
    with serving(app) as base_url:
        yield base_url, app.state.emulator


@pytest.fixture
def abax_emulator(abax_server: tuple[str, AbaxEmulator]) -> AbaxEmulator:
    emulator = abax_server[1]
    emulator.reset()
    return emulator


@pytest.fixture
def abax_client(abax_server, abax_emulator):
    clients: list[AbaxClient] = []
    waits: list[float] = []

    def make(tenant_id: str = "acme", **options: Any) -> AbaxClient:
        base_url = abax_server[0]

        def sleep(seconds: float) -> None:
            # Let the emulator's clock run instead of waiting: rate-limit windows pass at once.
            waits.append(seconds)
            abax_emulator.advance(seconds)

        options.setdefault("sleep", sleep)
        try:
            client_id, client_secret = abax_emulator.credentials(tenant_id)
        except KeyError:  # an organisation ABAX does not know
            client_id, client_secret = tenant_id, ABAX_SECRET
        client = AbaxClient(
            base_url, f"{base_url}/connect/token", client_id, options.pop("secret", client_secret), **options
        )
        clients.append(client)
        return client

    make.waits = waits  # type: ignore[attr-defined]
    yield make
    for client in clients:
        client.close()


def api_calls(emulator: AbaxEmulator, path: str) -> list[dict[str, Any]]:
    return [entry for entry in emulator.request_log if entry["path"] == path]


def trip_ids(call: dict[str, Any]) -> list[str]:
    return [value for name, value in call["params"] if name == "trip_ids"]


def test_the_demo_october_maps_cleanly(abax_client, abax_emulator):
    batch = fetch_trips(abax_client(), OCTOBER)
    assert batch.problems == []
    logbooks = build_logbooks(batch.trips, OCTOBER)
    assert [logbook.logbook_id for logbook in logbooks] == [
        "d-1001:v-101:2026-10",
        "d-1002:v-102:2026-10",
        "d-1003:v-103:2026-10",
        "d-1004:v-104:2026-10",
        "d-1099:v-199:2026-10",
    ]
    by_driver = {logbook.driver.driver_id: logbook for logbook in logbooks}
    assert by_driver["d-1004"].driver.employee_number is None
    # The night trip of 1 October (30 September in UTC) is in; Kari's trip at 23:30 UTC on 31 October is not.
    per = [trip.trip_id for trip in by_driver["d-1003"].trips]
    assert (
        by_driver["d-1003"].trips[0].started_at == datetime(2026, 9, 30, 22, 45, tzinfo=UTC)
        and len(per) == 11
    )
    assert all(trip.date.month == 10 for logbook in logbooks for trip in logbook.trips)
    totals = {category for logbook in logbooks for category in logbook.totals()}
    assert totals == set(Category)
    # Expenses only for the payable trips of the period.
    asked = {trip_id for call in api_calls(abax_emulator, "/v1/trips/expense") for trip_id in trip_ids(call)}
    assert asked == {trip.trip_id for logbook in logbooks for trip in logbook.trips}


def test_paging_across_1500_with_more_than_3000_trips(abax_client, abax_emulator):
    batch = fetch_trips(abax_client("bulk"), OCTOBER)
    assert batch.problems == []
    in_october = [trip for trip in batch.trips if trip.date in OCTOBER]
    assert len(in_october) == len(batch.trips) > 3000
    assert len({trip.trip_id for trip in batch.trips}) == len(batch.trips)
    pages = [call["query"]["page"] for call in api_calls(abax_emulator, "/v1/trips")]
    assert pages == ["1", "2", "3"]
    batches = [len(trip_ids(call)) for call in api_calls(abax_emulator, "/v1/trips/expense")]
    assert max(batches) == 150 and sum(batches) == len(batch.trips) and len(batches) > 2
    assert all(trip.quantities()[Category.TOLL] == 10 for trip in batch.trips)


def test_a_whole_year_is_fetched_in_windows_of_at_most_3_months(abax_client, abax_emulator):
    year = Period(date(2026, 1, 1), date(2026, 12, 31))
    batch = fetch_trips(abax_client("year"), year)
    assert batch.problems == []
    assert len(batch.trips) == 400
    windows = [
        (call["query"]["date_from"], call["query"]["date_to"])
        for call in api_calls(abax_emulator, "/v1/trips")
    ]
    assert len(windows) == 5  # the emulator answers 400 to more than 3 months, so every window passed


def test_rate_limit_429_is_waited_out(abax_client, abax_emulator):
    abax_emulator.set_rate_limit(3)
    client = abax_client("year")
    trips = client.trips(Period(date(2026, 1, 1), date(2026, 12, 31)))
    assert len(trips) == 400
    # Each 429 waited until the reset the emulator announced (an ISO instant at most a minute away).
    assert abax_client.waits and all(0 < wait <= 60 for wait in abax_client.waits)
    assert max(abax_client.waits) > 30


def test_rate_limit_headers_and_429(abax_server, abax_emulator):
    base_url = abax_server[0]
    abax_emulator.set_rate_limit(2)
    with httpx.Client(base_url=base_url) as http:
        token = http.post(
            "/connect/token",
            data=dict(
                zip(("client_id", "client_secret"), abax_emulator.credentials("acme"), strict=True),
                grant_type="client_credentials",
            ),
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        params = {"date_from": "2026-10-01", "date_to": "2026-10-31"}
        first = http.get("/v1/trips", params=params, headers=headers)
        assert first.headers["X-Rate-Limit-Limit"] == "2" and first.headers["X-Rate-Limit-Remaining"] == "1"
        http.get("/v1/trips", params=params, headers=headers)
        limited = http.get("/v1/trips", params=params, headers=headers)
        assert limited.status_code == 429
        assert limited.headers["X-Rate-Limit-Remaining"] == "0"
        # The reset as the public SDK reads it: an ISO 8601 instant, within the minute.
        reset = datetime.fromisoformat(limited.headers["X-Rate-Limit-Reset"].replace("Z", "+00:00"))
        assert 0 < (reset - datetime.now(UTC)).total_seconds() <= 60
        # The limit is per client id: another organisation is not slowed down.
        other = http.post(
            "/connect/token",
            data=dict(
                zip(("client_id", "client_secret"), abax_emulator.credentials("beta"), strict=True),
                grant_type="client_credentials",
            ),
        ).json()
        assert (
            http.get(
                "/v1/trips", params=params, headers={"Authorization": f"Bearer {other['access_token']}"}
            ).status_code
            == 200
        )


def test_a_revoked_token_is_renewed_once(abax_client, abax_emulator):
    client = abax_client()
    assert client.trips(OCTOBER)
    abax_emulator.expire_tokens()
    assert client.trips(OCTOBER)
    assert len(api_calls(abax_emulator, "/connect/token")) == 2


def test_wrong_secret_is_auth_failed_without_the_secret(abax_client):
    client = abax_client(secret="not-the-" + ABAX_SECRET)
    with pytest.raises(AbaxAuthFailed) as raised:
        client.trips(OCTOBER)
    assert ABAX_SECRET not in str(raised.value) and ABAX_SECRET not in repr(client)
    with pytest.raises(AbaxAuthFailed):
        abax_client("no-such-tenant").trips(OCTOBER)


def test_503_faults_are_retried(abax_client, abax_emulator):
    abax_emulator.faults = []
    client = abax_client()
    with httpx.Client(base_url=client._api_url) as http:
        rules = {
            "rules": [
                {"method": "GET", "path": "/v1/trips", "nth": 1, "times": 2, "status": 503},
                {"method": "GET", "path": "/v1/trips/expense", "nth": 1, "times": 1, "status": 500},
            ]
        }
        assert http.post("/_control/faults", json=rules).status_code == 200
    batch = fetch_trips(client, OCTOBER)
    assert batch.problems == [] and len(batch.trips) == 58
    assert abax_client.waits == [0.5, 1.0, 0.5]


def test_a_slow_answer_times_out_and_is_retried(abax_client, abax_emulator):
    client = abax_client(timeout=0.3)
    with httpx.Client(base_url=client._api_url) as http:
        rule = {"method": "GET", "path": "/v1/trips", "nth": 1, "times": 1, "status": None, "delay_s": 1.0}
        http.post("/_control/faults", json={"rules": [rule]})
    # 58 October trips plus the one at 23:30 UTC on 31 October from the edge day the client asks for.
    assert len(client.trips(OCTOBER)) == 59
    assert abax_client.waits == [0.5]


def test_abax_down_ends_in_unavailable(abax_client, abax_emulator):
    with httpx.Client(base_url=abax_client()._api_url) as http:
        http.post(
            "/_control/faults",
            json={"rules": [{"method": "GET", "path": "/v1/trips", "times": 10, "status": 503}]},
        )
    with pytest.raises(AbaxUnavailable):
        abax_client(max_attempts=3).trips(OCTOBER)


def test_broken_data_added_at_runtime_is_reported_not_dropped(abax_client, abax_emulator):
    good = abax_bulk("acme", 1, datetime(2026, 10, 15, 8, tzinfo=UTC), timedelta(0))["trips"][0]
    broken = [
        {**good, "id": "bad-distance", "distance": -4},
        {**good, "id": "bad-driver", "driver": None},
        {**good, "id": "bad-absurd", "distance": 9999},
        {**good, "id": "bad-expense"},
        {**good, "id": "d-1001-dup", "distance": 1},
        {**good, "id": "d-1001-dup", "distance": 2},
    ]
    expenses = [{"trip_id": "bad-expense", "expense": {"ferry": -1}, "extra": {"passenger_name": "Kari"}}]
    with httpx.Client(base_url=abax_client()._api_url) as http:
        answer = http.post(
            "/_control/trips", json={"tenant_id": "acme", "trips": broken, "expenses": expenses}
        )
        assert answer.status_code == 200
    batch = fetch_trips(abax_client(), OCTOBER)
    (problem,) = batch.problems
    assert sorted((item["trip_id"], item["reason"]) for item in problem.items) == [
        ("bad-absurd", "absurd distance (more than 2000 km in one trip)"),
        ("bad-distance", "negative distance"),
        ("bad-driver", "missing driver"),
        ("bad-expense", "negative amount"),
        ("d-1001-dup", "duplicate trip id"),
    ]
    ids = {trip.trip_id for trip in batch.trips}
    assert "d-1001-dup" in ids and not ids & {"bad-distance", "bad-driver", "bad-absurd", "bad-expense"}
