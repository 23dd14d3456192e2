"""HTTP client for the ABAX Open API: client-credentials token, trips and expenses, retries and paging."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx

from ..domain.period import Period
from ..errors import AbaxAuthFailed, AbaxError, AbaxRequestRejected, AbaxUnavailable
from ..observability import SERVICE
from ..tls import tls_context
from .windows import EDGE_DAYS, EXPENSE_BATCH, WINDOW_DAYS, date_windows

# A child of the powertools logger: its lines carry the export and tenant ids the handlers append.
logger = logging.getLogger(f"{SERVICE}.abax")

SCOPE = "open_api open_api.trips"  # production; the sandbox wants "open_api.sandbox open_api.sandbox.trips"
PAGE_SIZE = 1500  # the documented default and maximum
TOKEN_MARGIN_S = 60.0  # renew the token this long before it expires
MAX_WAIT_S = 65.0  # a reset is at most a minute away: never trust a header to park us longer than this
MIN_RATE_LIMIT_WAIT_S = 0.25


class AbaxClient:
    """Sync ABAX Open API client for one organisation (client-credentials grant)."""

    def __init__(
        self,
        api_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
        clock: Callable[[], float] = time.monotonic,
        scope: str = SCOPE,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        pacer: Callable[[], float] | None = None,
    ):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._api_url = api_url.rstrip("/")
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._clock = clock
        # Reserves the next request under ABAX's per-client limit (shared by every instance calling with this
        # client id) and says how many seconds to wait before sending it; None: no pacing.
        self._pacer = pacer
        self._max_attempts = max_attempts
        self._http = httpx.Client(timeout=timeout, transport=transport, verify=tls_context())
        self._token: str | None = None
        self._token_expires_at = 0.0

    def __repr__(self) -> str:
        return f"AbaxClient(api_url={self._api_url!r}, client_id={self._client_id!r})"

    def __enter__(self) -> AbaxClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---- public API -------------------------------------------------------------------------------

    def trips(self, period: Period) -> list[dict[str, Any]]:
        """Every raw trip the API lists for the period (plus one day each side, see EDGE_DAYS)."""
        found: list[dict[str, Any]] = []
        first = period.start - timedelta(days=EDGE_DAYS)
        last = period.end + timedelta(days=EDGE_DAYS)
        for date_from, date_to in date_windows(first, last, WINDOW_DAYS):
            page = 1
            while True:
                items = self.trips_page(date_from, date_to, page)
                found.extend(items)
                # No total in the response: a short page is the last one.
                if len(items) < PAGE_SIZE:
                    break
                page += 1
        return found

    def trips_page(
        self, date_from: date, date_to: date, page: int, page_size: int = PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """One page of `/v1/trips` (pages from 1); a page shorter than `page_size` is the last one."""
        body = self._get_json(
            "/v1/trips",
            {
                "date_from": date_from.isoformat(),
                "date_to": date_to.isoformat(),
                "page": page,
                "page_size": page_size,
            },
        )
        return _items(body, "/v1/trips")

    def expenses(self, trip_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Expense and supplement records for the trips, fetched in batches of at most 150 ids."""
        unique = list(dict.fromkeys(trip_ids))
        found: list[dict[str, Any]] = []
        for start in range(0, len(unique), EXPENSE_BATCH):
            batch = unique[start : start + EXPENSE_BATCH]
            # One repeated parameter per id (trip_ids=a&trip_ids=b), as the public SDK sends them: a server that
            # binds an array from the query reads a comma-joined value as one unknown id and answers no expenses.
            body = self._get_json(
                "/v1/trips/expense", httpx.QueryParams([("trip_ids", trip_id) for trip_id in batch])
            )
            found.extend(_items(body, "/v1/trips/expense"))
        return found

    # ---- transport --------------------------------------------------------------------------------

    def _get_json(self, path: str, params: httpx.QueryParams | dict[str, Any]) -> Any:
        url = self._api_url + path
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            token = self._access_token()
            self._pace()
            try:
                response = self._http.get(url, params=params, headers={"Authorization": f"Bearer {token}"})
            except httpx.TimeoutException:
                self._retry_or_give_up(attempt, f"GET {path} timed out")
                continue
            except httpx.TransportError as error:
                self._retry_or_give_up(attempt, f"GET {path} failed: {type(error).__name__}")
                continue
            status = response.status_code
            if status == 401:
                # The token may have been revoked or expired early: renew it once, then believe the 401.
                if refreshed:
                    raise AbaxAuthFailed(f"ABAX refused a fresh access token for GET {path} (401)")
                refreshed = True
                self._token = None
                attempt -= 1  # a renewed token is not a failed attempt
                continue
            if status == 429:
                # ABAX allows 60 requests a minute per API client: wait until it says the window resets and
                # try again. A 429 is never a failed attempt, so a month's fetch never fails on the limit
                # (a caller with a deadline stops through its `sleep`).
                wait = _rate_limit_wait(response, self._wall_clock())
                logger.warning(
                    "ABAX: GET %s was rate limited (429); waiting %.1f s for the reset", path, wait
                )
                self._sleep(wait)
                attempt -= 1
                continue
            if status >= 500:
                self._retry_or_give_up(attempt, f"GET {path} answered {status}")
                continue
            if status == 403:
                raise AbaxAuthFailed(f"ABAX denied GET {path} (403): check the client's scopes")
            if status >= 400:
                raise AbaxRequestRejected(f"ABAX rejected GET {path} ({status}): {_short(response)}", status)
            try:
                return response.json()
            except ValueError as error:
                raise AbaxError(f"ABAX answered GET {path} with a body that is not JSON") from error

    def _pace(self) -> None:
        if self._pacer is None:
            return
        wait = self._pacer()
        if wait > 0:
            self._sleep(wait)

    def _access_token(self) -> str:
        if self._token is not None and self._clock() < self._token_expires_at:
            return self._token
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "scope": self._scope,
        }
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.post(self._token_url, data=form)
            except httpx.TimeoutException:
                self._retry_or_give_up(attempt, "the ABAX token request timed out")
                continue
            except httpx.TransportError as error:
                self._retry_or_give_up(attempt, f"the ABAX token request failed: {type(error).__name__}")
                continue
            status = response.status_code
            if status == 429:
                wait = _rate_limit_wait(response, self._wall_clock())
                logger.warning(
                    "ABAX: the token request was rate limited (429); waiting %.1f s for the reset", wait
                )
                self._sleep(wait)
                attempt -= 1
                continue
            if status >= 500:
                self._retry_or_give_up(attempt, f"the ABAX token endpoint answered {status}")
                continue
            if status in (400, 401, 403):
                # OAuth errors carry a code such as invalid_client; the form we sent is never echoed back.
                raise AbaxAuthFailed(
                    f"ABAX refused the client credentials ({status} {_oauth_error(response)})"
                )
            if status >= 300:
                raise AbaxAuthFailed(f"the ABAX token endpoint answered {status}")
            try:
                body = response.json()
                token = str(body["access_token"])
                lifetime = float(body.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError) as error:
                raise AbaxAuthFailed("the ABAX token endpoint answered without an access token") from error
            self._token = token
            self._token_expires_at = self._clock() + max(0.0, lifetime - TOKEN_MARGIN_S)
            return token

    def _retry_or_give_up(self, attempt: int, what: str, wait: float | None = None) -> None:
        if attempt >= self._max_attempts:
            raise AbaxUnavailable(f"{what}; gave up after {attempt} attempts")
        delay = wait if wait is not None else min(8.0, 0.5 * 2 ** (attempt - 1))
        logger.warning(
            "ABAX: %s; retrying in %.1f s (attempt %d of %d)", what, delay, attempt, self._max_attempts
        )
        self._sleep(delay)


def _items(body: Any, path: str) -> list[dict[str, Any]]:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise AbaxError(f"ABAX answered GET {path} without an items list")
    return items


def _rate_limit_wait(response: httpx.Response, now: datetime) -> float:
    """Seconds until the rate limit resets, as the public ABAX SDK reads it.

    `X-Rate-Limit-Reset` is an ISO 8601 instant; without it (or unreadable), Retry-After; without both, the
    start of the next minute (the limit is 60 requests a minute). Never more than MAX_WAIT_S.
    """
    reset = response.headers.get("X-Rate-Limit-Reset")
    if reset:
        try:
            instant = datetime.fromisoformat(reset.strip().replace("Z", "+00:00"))
        except ValueError:
            instant = None
        if instant is not None:
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=UTC)
            return min(MAX_WAIT_S, max((instant - now).total_seconds(), MIN_RATE_LIMIT_WAIT_S))
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        seconds = _seconds_from_header(retry_after.strip())
        if seconds is not None:
            return min(MAX_WAIT_S, max(seconds, MIN_RATE_LIMIT_WAIT_S))
    next_minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return max((next_minute - now).total_seconds(), MIN_RATE_LIMIT_WAIT_S)


def _seconds_from_header(raw: str) -> float | None:
    """Retry-After: a delay in seconds or an HTTP date."""
    try:
        value = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return (when - datetime.now(UTC)).total_seconds()
    return None if value != value else value  # NaN


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "no details"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"][:80]
    return "no details"


def _short(response: httpx.Response) -> str:
    return response.text[:200].replace("\n", " ")
