"""Local emulator of the ABAX Open API (token, trips, expenses, people, vehicles) with a control surface."""

from __future__ import annotations

import asyncio
import calendar
import copy
import math
import secrets
import threading
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import FaultRule, firing_rule

PAGE_SIZE_MAX = 1500
EXPENSE_IDS_MAX = 150
TOKEN_LIFETIME_S = 3600
DEFAULT_REQUESTS_PER_MINUTE = 60  # "60 requests per 60 s per developer account"
RATE_WINDOW_S = 60.0
SCOPES = "open_api open_api.trips open_api.vehicles open_api.organization"
REQUEST_LOG_SIZE = 10_000
NEVER = "9999-12-31"  # sort key for trips without a usable start: they are never listed by date

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Organization:
    tenant_id: str  # a label for demos and tests: ABAX knows an organisation by its API client
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    trips: list[dict[str, Any]] = field(default_factory=list)  # sorted by (UTC start date, start, id)
    day_keys: list[str] = field(default_factory=list)  # parallel to trips: the UTC start date
    trips_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    expenses: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, trips: list[dict[str, Any]], expenses: list[dict[str, Any]]) -> None:
        for trip in trips:
            self.trips_by_id.setdefault(str(trip.get("id")), trip)
        self.trips.extend(trips)
        self.trips.sort(key=_trip_sort_key)
        self.day_keys = [_utc_day(trip) for trip in self.trips]
        for record in expenses:
            self.expenses[str(record.get("trip_id"))] = record

    def trips_between(self, first: date, last: date) -> list[dict[str, Any]]:
        low = bisect_left(self.day_keys, first.isoformat())
        high = bisect_right(self.day_keys, last.isoformat())
        return self.trips[low:high]


class AbaxEmulator:
    """State behind the routes: organisations, tokens, rate limit and faults; `clock` is injectable for tests."""

    def __init__(self, data: dict[str, Any], clock: Callable[[], float] = time.monotonic):
        self._data = copy.deepcopy(data)
        self._clock = clock
        self._offset = 0.0
        self.lock = threading.Lock()
        self.requests_per_minute = DEFAULT_REQUESTS_PER_MINUTE
        self.window_s = RATE_WINDOW_S
        self.rate_limited = 0  # requests answered 429 since the last reset
        self.faults: list[FaultRule] = []
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.organizations: dict[str, Organization] = {}
        self._tokens: dict[str, tuple[str, float]] = {}
        self._recent: dict[str, deque[float]] = {}
        self.reset()

    # ---- state --------------------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock on: a test's `sleep` that lets rate limits and tokens expire at once."""
        with self.lock:
            self._offset += max(0.0, seconds)

    def replace_data(self, data: dict[str, Any]) -> None:
        """Serve another data file from now on (tests with their own companies), starting fresh."""
        self._data = copy.deepcopy(data)
        self.reset()

    def reset(self) -> None:
        """Back to the data file's state: data, tokens, rate limit, faults and request log."""
        with self.lock:
            self.organizations = {}
            for entry in copy.deepcopy(self._data).get("organizations", []):
                client_id, client_secret = entry.get("client_id"), entry.get("client_secret")
                if (
                    not isinstance(client_id, str)
                    or not client_id
                    or not isinstance(client_secret, str)
                    or not client_secret
                ):
                    raise ValueError("every organisation needs its API client: client_id and client_secret")
                tenant_id = str(entry.get("tenant_id") or client_id)
                self.organizations[client_id] = Organization(tenant_id, client_id, client_secret)
                self._add(client_id, entry.get("trips", []), entry.get("expenses", []))
            self.requests_per_minute = DEFAULT_REQUESTS_PER_MINUTE
            self.window_s = RATE_WINDOW_S
            self.rate_limited = 0
            self.faults = []
            self.request_log = deque(maxlen=REQUEST_LOG_SIZE)
            self._tokens = {}
            self._recent = {}

    def add_data(
        self, organization: str, trips: list[dict[str, Any]], expenses: list[dict[str, Any]]
    ) -> None:
        """More trips for an organisation, named by its client id or its tenant label."""
        with self.lock:
            found = self.organizations.get(organization) or next(
                (org for org in self.organizations.values() if org.tenant_id == organization), None
            )
            if found is None:
                raise ValueError(f"no organisation {organization!r}")
            found.add(list(trips), list(expenses))

    def _add(self, client_id: str, trips: list[dict[str, Any]], expenses: list[dict[str, Any]]) -> None:
        self.organizations[client_id].add(list(trips), list(expenses))

    def credentials(self, tenant_id: str) -> tuple[str, str]:
        """The API client of the organisation labelled tenant_id (what its admin pastes into our app)."""
        with self.lock:
            for organization in self.organizations.values():
                if organization.tenant_id == tenant_id:
                    return organization.client_id, organization.client_secret
        raise KeyError(tenant_id)

    def set_rate_limit(self, requests_per_minute: int, window_s: float = RATE_WINDOW_S) -> None:
        """`requests_per_minute` per `window_s` (ABAX's is 60 s; tests shrink it to run in seconds)."""
        with self.lock:
            self.requests_per_minute = requests_per_minute
            self.window_s = window_s
            self._recent = {}

    def expire_tokens(self) -> None:
        with self.lock:
            self._tokens = {}

    # ---- auth, rate limit, faults -------------------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str) -> dict[str, Any] | None:
        with self.lock:
            organization = self.organizations.get(client_id)
            if organization is None or not secrets.compare_digest(
                client_secret.encode(), organization.client_secret.encode()
            ):
                return None
            token = secrets.token_urlsafe(24)
            self._tokens[token] = (client_id, self.now() + TOKEN_LIFETIME_S)
            return {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_S,
                "scope": SCOPES,
            }

    def tenant_for(self, authorization: str | None) -> str | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        with self.lock:
            entry = self._tokens.get(authorization[len("Bearer ") :].strip())
            if entry is None or entry[1] <= self.now():
                return None
            return entry[0]

    def take_rate_slot(self, client_id: str) -> tuple[bool, dict[str, str]]:
        """A sliding 60 s window per client id; the headers say how much is left and when a slot frees."""
        with self.lock:
            now = self.now()
            recent = self._recent.setdefault(client_id, deque())
            while recent and recent[0] <= now - self.window_s:
                recent.popleft()
            limit = self.requests_per_minute
            allowed = len(recent) < limit
            if allowed:
                recent.append(now)
            else:
                self.rate_limited += 1
            seconds_to_reset = (recent[0] + self.window_s - now) if recent else 0.0
            # As the public SDK reads it: X-Rate-Limit-Reset is the instant (ISO 8601, UTC) the limit resets.
            reset_at = datetime.now(UTC) + timedelta(seconds=max(seconds_to_reset, 0.0))
            headers = {
                "X-Rate-Limit-Limit": str(limit),
                "X-Rate-Limit-Remaining": str(max(0, limit - len(recent))),
                "X-Rate-Limit-Reset": reset_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
            if not allowed:
                headers["Retry-After"] = str(max(1, math.ceil(seconds_to_reset)))
            return allowed, headers

    def fault_for(self, method: str, path: str) -> FaultRule | None:
        with self.lock:
            return firing_rule(self.faults, method, path)


def create_app(data: dict[str, Any], clock: Callable[[], float] | None = None) -> Starlette:
    """The emulator as an ASGI app; routes are relative (the local stack mounts it at /emulators/abax)."""
    emulator = AbaxEmulator(data, clock or time.monotonic)

    def relative_path(request: Request) -> str:
        path = request.scope["path"]
        root = request.scope.get("root_path", "")
        return path[len(root) :] if root and path.startswith(root) else path

    async def apply_fault(request: Request) -> Response | None:
        path = relative_path(request)
        with emulator.lock:
            emulator.request_log.append(
                {
                    "method": request.method,
                    "path": path,
                    "query": dict(request.query_params),
                    # Every value of a repeated parameter (dict() above keeps only the last one).
                    "params": list(request.query_params.multi_items()),
                }
            )
        rule = emulator.fault_for(request.method, path)
        if rule is None:
            return None
        if rule.delay_s:
            await asyncio.sleep(rule.delay_s)
        if rule.status is None:
            return None
        return JSONResponse({"error": "emulated_fault", "status": rule.status}, status_code=rule.status)

    def api(handler: Callable[[Request, Organization], Awaitable[Response]]) -> Handler:
        """Faults, then the bearer token, then the rate limit, as a gateway in front of the API would."""

        async def endpoint(request: Request) -> Response:
            faulted = await apply_fault(request)
            if faulted is not None:
                return faulted
            tenant_id = emulator.tenant_for(request.headers.get("Authorization"))
            if tenant_id is None:
                return JSONResponse(
                    {"title": "Unauthorized", "status": 401},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            allowed, headers = emulator.take_rate_slot(tenant_id)
            if not allowed:
                return JSONResponse(
                    {"title": "Too Many Requests", "status": 429}, status_code=429, headers=headers
                )
            response = await handler(request, emulator.organizations[tenant_id])
            response.headers.update(headers)
            return response

        return endpoint

    async def token(request: Request) -> Response:
        faulted = await apply_fault(request)
        if faulted is not None:
            return faulted
        # Parsed by hand: Starlette's form parser needs python-multipart, which the stack does not ship.
        form = {
            key: values[0]
            for key, values in parse_qs((await request.body()).decode("utf-8", "replace")).items()
        }
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        issued = emulator.issue_token(str(form.get("client_id") or ""), str(form.get("client_secret") or ""))
        if issued is None:
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        return JSONResponse(issued, headers={"Cache-Control": "no-store"})

    async def list_trips(request: Request, organization: Organization) -> Response:
        query = request.query_params
        try:
            first = _query_date(query, "date_from")
            last = _query_date(query, "date_to")
            page = _query_int(query, "page", 1)
            page_size = _query_int(query, "page_size", PAGE_SIZE_MAX)
        except ValueError as error:
            return _bad_request(str(error))
        if last < first:
            return _bad_request("date_to is before date_from")
        if last > _add_months(first, 3):
            return _bad_request("date_from and date_to can be at most 3 months apart")
        if page < 1:
            return _bad_request("page starts at 1")
        if not 1 <= page_size <= PAGE_SIZE_MAX:
            return _bad_request(f"page_size must be between 1 and {PAGE_SIZE_MAX}")
        with emulator.lock:
            trips = organization.trips_between(first, last)
            vehicle_id = query.get("vehicle_id")
            if vehicle_id:
                trips = [trip for trip in trips if str((trip.get("vehicle") or {}).get("id")) == vehicle_id]
            items = trips[(page - 1) * page_size : page * page_size]
            return JSONResponse({"page": page, "page_size": page_size, "items": items})

    async def get_trip(request: Request, organization: Organization) -> Response:
        trip = organization.trips_by_id.get(request.path_params["trip_id"])
        return JSONResponse(trip) if trip is not None else _not_found("trip")

    async def trip_expenses(request: Request, organization: Organization) -> Response:
        # An array bound from the query: each repeated trip_ids is one id. A comma-joined value is one id that
        # matches no trip (no error, no expenses), as on a server that binds List<string> from the query.
        ids = list(dict.fromkeys(trip_id for trip_id in request.query_params.getlist("trip_ids") if trip_id))
        if not ids:
            return _bad_request("trip_ids is required")
        if len(ids) > EXPENSE_IDS_MAX:
            return _bad_request(f"at most {EXPENSE_IDS_MAX} trip_ids per call")
        items = []
        with emulator.lock:
            for trip_id in ids:
                if trip_id not in organization.trips_by_id:
                    continue
                record = organization.expenses.get(trip_id) or {}
                items.append(
                    {
                        "trip_id": trip_id,
                        "expense": record.get("expense") or {},
                        "extra": record.get("extra") or {},
                    }
                )
        return JSONResponse({"items": items})

    async def list_people(request: Request, organization: Organization) -> Response:
        return JSONResponse({"items": list(_people(organization).values())})

    async def get_person(request: Request, organization: Organization) -> Response:
        person = _people(organization).get(request.path_params["person_id"])
        return JSONResponse(person) if person is not None else _not_found("person")

    async def list_vehicles(request: Request, organization: Organization) -> Response:
        return JSONResponse({"items": list(_vehicles(organization).values())})

    async def get_vehicle(request: Request, organization: Organization) -> Response:
        vehicle = _vehicles(organization).get(request.path_params["vehicle_id"])
        return JSONResponse(vehicle) if vehicle is not None else _not_found("vehicle")

    async def control_faults(request: Request) -> Response:
        body = await _json(request)
        try:
            rules = [
                FaultRule.from_json(rule, default_status=None, exact_path=True)
                for rule in body.get("rules", [])
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            return _bad_request(f"bad fault rule: {error}")
        with emulator.lock:
            emulator.faults = rules
        return JSONResponse({"rules": len(rules)})

    async def control_rate_limit(request: Request) -> Response:
        body = await _json(request)
        try:
            limit = int(body["requests_per_minute"])
        except (KeyError, TypeError, ValueError):
            return _bad_request("requests_per_minute must be a whole number")
        if limit < 1:
            return _bad_request("requests_per_minute must be at least 1")
        try:
            window = float(body.get("window_seconds", RATE_WINDOW_S))
        except (TypeError, ValueError):
            return _bad_request("window_seconds must be a number")
        if not 0 < window <= 3600:
            return _bad_request("window_seconds must be more than 0 and at most 3600")
        emulator.set_rate_limit(limit, window)
        return JSONResponse(
            {"requests_per_minute": limit, "window_seconds": window, "rate_limited": emulator.rate_limited}
        )

    async def control_reset(request: Request) -> Response:
        emulator.reset()
        return Response(status_code=204)

    async def control_trips(request: Request) -> Response:
        body = await _json(request)
        trips, expenses = body.get("trips", []), body.get("expenses", [])
        if not isinstance(trips, list) or not isinstance(expenses, list):
            return _bad_request("trips and expenses must be lists")
        if not all(isinstance(entry, dict) for entry in [*trips, *expenses]):
            return _bad_request("every trip and expense must be an object")
        organization = body.get("client_id") or body.get("tenant_id")
        if not isinstance(organization, str) or not organization:
            return _bad_request("client_id (or the tenant_id label) is required")
        try:
            emulator.add_data(organization, trips, expenses)
        except ValueError as error:
            return _bad_request(str(error))
        return JSONResponse({"trips": len(trips), "expenses": len(expenses)})

    async def control_expire_tokens(request: Request) -> Response:
        emulator.expire_tokens()
        return Response(status_code=204)

    async def control_requests(request: Request) -> Response:
        with emulator.lock:
            return JSONResponse({"requests": list(emulator.request_log)})

    routes = [
        Route("/connect/token", token, methods=["POST"]),
        Route("/v1/trips", api(list_trips), methods=["GET"]),
        # Registered before /v1/trips/{trip_id} so that "expense" is not read as a trip id.
        Route("/v1/trips/expense", api(trip_expenses), methods=["GET"]),
        Route("/v1/trips/{trip_id}", api(get_trip), methods=["GET"]),
        Route("/v1/people", api(list_people), methods=["GET"]),
        Route("/v1/people/{person_id}", api(get_person), methods=["GET"]),
        Route("/v1/vehicles", api(list_vehicles), methods=["GET"]),
        Route("/v1/vehicles/{vehicle_id}", api(get_vehicle), methods=["GET"]),
        Route("/_control/faults", control_faults, methods=["POST"]),
        Route("/_control/rate-limit", control_rate_limit, methods=["PUT"]),
        Route("/_control/reset", control_reset, methods=["POST"]),
        Route("/_control/trips", control_trips, methods=["POST"]),
        Route("/_control/expire-tokens", control_expire_tokens, methods=["POST"]),
        Route("/_control/requests", control_requests, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = emulator
    return app


# ---- helpers ------------------------------------------------------------------------------------------


def _timestamp(trip: dict[str, Any]) -> Any:
    start = trip.get("start")
    location = start.get("location") if isinstance(start, dict) else None
    return location.get("timestamp") if isinstance(location, dict) else None


def _utc_day(trip: dict[str, Any]) -> str:
    """The UTC date of the trip's start.

    ABAX does not document which day a trip belongs to for date_from/date_to; timestamps are UTC, so the
    emulator filters on the UTC date (a trip at 2026-10-31T23:30:00Z is listed for 31 October even though
    it is 1 November in Oslo). Clients must not rely on either reading.
    """
    value = _timestamp(trip)
    if not isinstance(value, str):
        return NEVER
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return NEVER
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date().isoformat()


def _trip_sort_key(trip: dict[str, Any]) -> tuple[str, str, str]:
    return _utc_day(trip), str(_timestamp(trip)), str(trip.get("id"))


def _people(organization: Organization) -> dict[str, dict[str, Any]]:
    people: dict[str, dict[str, Any]] = {}
    for trip in organization.trips:
        driver = trip.get("driver")
        if isinstance(driver, dict) and driver.get("id") is not None:
            people.setdefault(str(driver["id"]), dict(driver))
    return people


def _vehicles(organization: Organization) -> dict[str, dict[str, Any]]:
    vehicles: dict[str, dict[str, Any]] = {}
    for trip in organization.trips:
        vehicle = trip.get("vehicle")
        if isinstance(vehicle, dict) and vehicle.get("id") is not None:
            vehicles.setdefault(str(vehicle["id"]), dict(vehicle))
    return vehicles


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _query_date(query: Any, name: str) -> date:
    raw = query.get(name)
    if not raw:
        raise ValueError(f"{name} is required (yyyy-MM-dd)")
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name} must be a date as yyyy-MM-dd, got {raw!r}") from None


def _query_int(query: Any, name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _bad_request(detail: str) -> JSONResponse:
    return JSONResponse({"title": "Bad Request", "status": 400, "detail": detail}, status_code=400)


def _not_found(what: str) -> JSONResponse:
    return JSONResponse({"title": "Not Found", "status": 404, "detail": f"{what} not found"}, status_code=404)
