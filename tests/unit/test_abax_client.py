"""The ABAX client against scripted answers: token caching, retries, rate limits and secrecy."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from abax_payroll.abax import AbaxAuthFailed, AbaxClient, AbaxRequestRejected, AbaxUnavailable
from abax_payroll.abax.client import date_windows
from abax_payroll.domain.period import Period

SECRET = "s3cret-never-shown"
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


class Script:
    """A fake ABAX: token endpoint plus queued answers for API calls (default: an empty page)."""

    def __init__(self, *answers: httpx.Response, token_status: int = 200, expires_in: int = 3600):
        self.answers = list(answers)
        self.token_status = token_status
        self.expires_in = expires_in
        self.tokens_issued = 0
        self.api_calls: list[httpx.Request] = []
        self.waits: list[float] = []
        self.now = 0.0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/connect/token":
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["client_credentials"]
            assert form["scope"] == ["open_api open_api.trips"]
            if self.token_status != 200 or form["client_secret"] != [SECRET]:
                return httpx.Response(
                    self.token_status if self.token_status != 200 else 400, json={"error": "invalid_client"}
                )
            self.tokens_issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"tok-{self.tokens_issued}",
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                },
            )
        self.api_calls.append(request)
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return httpx.Response(200, json={"page": 1, "page_size": 1500, "items": []})

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def client(self, **options) -> AbaxClient:
        return AbaxClient(
            "https://api.example",
            "https://identity.example/connect/token",
            "acme",
            options.pop("secret", SECRET),
            transport=httpx.MockTransport(self.handler),
            sleep=self.sleep,
            clock=lambda: self.now,
            **options,
        )


def page(count: int, start: int = 0) -> httpx.Response:
    return httpx.Response(
        200, json={"page": 1, "page_size": 1500, "items": [{"id": f"t-{start + n}"} for n in range(count)]}
    )


def test_the_token_is_cached_until_a_minute_before_it_expires():
    script = Script()
    client = script.client()
    client.trips(OCTOBER)
    client.trips(OCTOBER)
    assert script.tokens_issued == 1
    script.now += 3600 - 61
    client.trips(OCTOBER)
    assert script.tokens_issued == 1
    script.now += 2
    client.trips(OCTOBER)
    assert script.tokens_issued == 2
    assert script.api_calls[-1].headers["Authorization"] == "Bearer tok-2"


def test_a_401_renews_the_token_once_then_gives_up():
    script = Script(httpx.Response(401), page(3))
    assert len(script.client().trips(OCTOBER)) == 3
    assert script.tokens_issued == 2
    script = Script(httpx.Response(401), httpx.Response(401))
    with pytest.raises(AbaxAuthFailed):
        script.client().trips(OCTOBER)


def test_bad_credentials_fail_without_showing_the_secret(caplog):
    caplog.set_level(logging.DEBUG)
    client = Script().client(secret="wrong-" + SECRET)
    with pytest.raises(AbaxAuthFailed) as raised:
        client.trips(OCTOBER)
    assert "invalid_client" in str(raised.value)
    for text in (str(raised.value), repr(raised.value), repr(client), str(client), caplog.text):
        assert SECRET not in text


WALL = datetime(2026, 11, 2, 8, 15, 42, 500_000, tzinfo=UTC)  # the client's wall clock in these tests


def test_429_waits_until_the_iso_instant_in_x_rate_limit_reset():
    """ABAX sends the reset as an ISO 8601 instant, and the public SDK reads it so (bjerkio/abax-node-sdk)."""
    script = Script(
        httpx.Response(429, headers={"X-Rate-Limit-Reset": (WALL + timedelta(seconds=7)).isoformat()}),
        httpx.Response(429, headers={"X-Rate-Limit-Reset": "2026-11-02T08:15:45.500Z"}),
        httpx.Response(429, headers={"Retry-After": "4"}),
        page(2),
    )
    assert len(script.client(wall_clock=lambda: WALL).trips(OCTOBER)) == 2
    assert script.waits == [7.0, 3.0, 4.0]


def test_429_without_a_reset_waits_for_the_next_minute():
    script = Script(httpx.Response(429), page(1))
    assert len(script.client(wall_clock=lambda: WALL).trips(OCTOBER)) == 1
    assert script.waits == [17.5]  # 08:15:42.5 -> 08:16:00


def test_429_is_never_given_up_on():
    """Far more 429s than attempts: a month's fetch waits each out and finishes (5xx still give up)."""
    limited = [
        httpx.Response(429, headers={"X-Rate-Limit-Reset": (WALL + timedelta(seconds=60)).isoformat()})
    ] * 12
    script = Script(*limited, page(3))
    assert len(script.client(wall_clock=lambda: WALL, max_attempts=3).trips(OCTOBER)) == 3
    assert script.waits == [60.0] * 12


def test_every_api_call_waits_for_the_slot_its_pacer_reserved_before_it_is_sent():
    """The pacer (the shared per-client window) is asked once per API call, a retried call included, and the
    client sleeps what it says before sending; the token request is not an API call."""
    script = Script(httpx.Response(503), page(1500), page(3))
    reserved: list[int] = []

    def pacer() -> float:
        reserved.append(len(script.api_calls))  # calls already sent when this one is reserved
        return [0.0, 2.5, 0.0][len(reserved) - 1]

    assert len(script.client(pacer=pacer).trips(OCTOBER)) == 1503
    assert reserved == [0, 1, 2]
    assert script.tokens_issued == 1
    assert script.waits == [0.5, 2.5]  # the 503's back-off, then the pacer's wait before the next call


def test_5xx_and_timeouts_are_retried_with_backoff_then_unavailable(caplog):
    script = Script(httpx.Response(503), httpx.ReadTimeout("slow"), httpx.ConnectError("down"), page(1))
    assert len(script.client().trips(OCTOBER)) == 1
    assert script.waits == [0.5, 1.0, 2.0]
    script = Script(*[httpx.Response(502)] * 5)
    with pytest.raises(AbaxUnavailable, match="5 attempts"):
        script.client().trips(OCTOBER)
    assert len(script.api_calls) == 5
    assert SECRET not in caplog.text


def test_a_rejected_request_is_not_retried():
    script = Script(httpx.Response(400, json={"detail": "bad date"}))
    with pytest.raises(AbaxRequestRejected) as raised:
        script.client().trips(OCTOBER)
    assert raised.value.status_code == 400
    assert len(script.api_calls) == 1


def test_paging_stops_at_the_first_short_page():
    script = Script(page(1500), page(1500, 1500), page(7, 3000))
    trips = script.client().trips(OCTOBER)
    assert len(trips) == 3007
    assert [call.url.params["page"] for call in script.api_calls] == ["1", "2", "3"]
    assert all(call.url.params["page_size"] == "1500" for call in script.api_calls)


def test_the_period_is_asked_for_with_an_edge_day_each_side_in_windows_of_89_days():
    script = Script()
    script.client().trips(Period(date(2026, 1, 1), date(2026, 12, 31)))
    windows = [(call.url.params["date_from"], call.url.params["date_to"]) for call in script.api_calls]
    assert windows[0][0] == "2025-12-31" and windows[-1][1] == "2027-01-01"
    spans = [(date.fromisoformat(b) - date.fromisoformat(a)).days for a, b in windows]
    assert max(spans) == 88 and len(windows) == 5
    assert all(
        date.fromisoformat(nxt[0]).toordinal() == date.fromisoformat(prev[1]).toordinal() + 1
        for prev, nxt in zip(windows, windows[1:], strict=False)
    )


def test_date_windows_cover_every_day_once():
    days = [
        d
        for a, b in date_windows(date(2026, 1, 1), date(2026, 3, 31), 10)
        for d in range(a.toordinal(), b.toordinal() + 1)
    ]
    assert days == list(range(date(2026, 1, 1).toordinal(), date(2026, 3, 31).toordinal() + 1))


def test_expenses_go_in_batches_of_150_without_repeating_ids():
    script = Script(*[httpx.Response(200, json={"items": [{"trip_id": "x"}]})] * 3)
    ids = [f"t-{n}" for n in range(301)] + ["t-0"]
    assert len(script.client().expenses(ids)) == 3
    # Each id its own repeated parameter, as the public SDK sends them; never one comma-joined value.
    batches = [call.url.params.get_list("trip_ids") for call in script.api_calls]
    assert [len(batch) for batch in batches] == [150, 150, 1]
    assert sum(batches, []) == [f"t-{n}" for n in range(301)]
    assert "trip_ids=t-0&trip_ids=t-1&" in str(script.api_calls[0].url)


def test_the_client_is_a_context_manager():
    with Script().client() as client:
        assert client.expenses([]) == []
