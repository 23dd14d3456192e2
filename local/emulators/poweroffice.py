"""Emulator of the PowerOffice Go v2 payroll API (token, employees, pay items, salary lines) with a fault surface."""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .faults import FaultRule, firing_rule

DEMO_DATA_PATH = Path(__file__).resolve().parent.parent / "demo_data" / "poweroffice.json"

SUBSCRIPTION_HEADER = "ocp-apim-subscription-key"
DEFAULT_PAGE_SIZE = 5000
MAX_PAGE_SIZE = 20000
TOKEN_TTL_S = 1200  # v2 tokens live 20 minutes (the demo environment answers expires_in 1200)
PAYROLL = "Payroll"
# What our integration is granted on every client; `invalid_privileges` in the data file takes some away.
GRANTED_PRIVILEGES = ("ClientIntegrationInformation", "Employee", "PayItem", "SalaryLine_Full")
PAYROLL_PRIVILEGES = frozenset(
    {"Employee", "Employee_Full", "PayItem", "PayItem_Full", "SalaryLine", "SalaryLine_Full"}
)
FIRST_SALARY_LINE_ID = 7_100_000_001

RATE_LIMIT_BODY = {"statusCode": "429", "message": "Rate limit is exceeded. Try again in 1 seconds."}
INVALID_CLIENT_BODY = {
    "error": "invalid_client",
    "error_description": "Client integration not found. Please ensure the provided keys are matching the desired environment.",
}
VALIDATION_TITLE = "Salary line validation error(s)"
NOT_FOUND_TITLE = "Object(s) not found"

# SalaryLinePostDto's properties: a POST with anything else is refused, which catches casing bugs.
POST_FIELDS = (
    "AccountId", "Amount", "CarListPrice", "CarRegistrationDate", "CarRegistrationNo", "Cid", "Comment",
    "CommuterPersonType", "DeductionType", "DepartmentId", "EmployeeId", "ExternalImportReference", "FromDate",
    "HomeWorkKilometers", "IncomeYear", "IsCarPool", "MaxAmount", "MemberNo", "MinAmount", "Number",
    "OppositeAccountId", "PayItemId", "PrivateDrivenKilometers", "ProjectId", "Quantity", "Rate", "StartAmount",
    "SupplierAccountId", "SupplierBankAccountId", "TaxRule", "ToDate", "UseRemittance", "VatCodeId",
    "WorkDriveExceedsKilometerLimit",
)  # fmt: skip
NUMBER_FIELDS = frozenset(
    {"Amount", "CarListPrice", "HomeWorkKilometers", "MaxAmount", "MinAmount", "PrivateDrivenKilometers",
     "Quantity", "Rate", "StartAmount"}
)  # fmt: skip
INTEGER_FIELDS = frozenset(
    {"AccountId", "DepartmentId", "EmployeeId", "IncomeYear", "Number", "OppositeAccountId", "ProjectId",
     "SupplierAccountId", "SupplierBankAccountId", "VatCodeId"}
)  # fmt: skip


# --- JSON and responses ---------------------------------------------------------------------------


def dumps(value: Any) -> bytes:
    """JSON with Decimals as exact numbers, as .NET writes its decimals."""
    return _encode(value).encode()


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        dumps(body), status_code=status, media_type="application/json; charset=utf-8", headers=headers
    )


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    body = {"title": title, "detail": detail, "status": status}
    return Response(dumps(body), status_code=status, media_type="application/problem+json", headers=headers)


def rate_limited() -> Response:
    return json_response(RATE_LIMIT_BODY, 429, {"Retry-After": "1"})


def list_response(items: list[dict[str, Any]]) -> Response:
    # PowerOffice Go answers an empty list with 204 and no body.
    return json_response(items) if items else Response(status_code=204)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


# --- state ----------------------------------------------------------------------------------------


@dataclass
class ClientState:
    client_key: str
    client_name: str
    client_id: str
    subscriptions: list[str]
    invalid_privileges: list[str]
    employees: dict[int, dict[str, Any]]
    pay_items: dict[str, dict[str, Any]]

    @property
    def has_payroll(self) -> bool:
        return any(s.lower() == PAYROLL.lower() for s in self.subscriptions)

    def valid_privileges(self) -> list[str]:
        invalid = set(self.invalid_privileges)
        return [
            p
            for p in GRANTED_PRIVILEGES
            if p not in invalid and (self.has_payroll or p not in PAYROLL_PRIVILEGES)
        ]

    def all_invalid_privileges(self) -> list[str]:
        without_module = (
            [] if self.has_payroll else [p for p in GRANTED_PRIVILEGES if p in PAYROLL_PRIVILEGES]
        )
        return sorted(set(self.invalid_privileges) | set(without_module))


@dataclass
class Token:
    client_key: str
    expires_at: float


@dataclass
class LoggedRequest:
    at: float
    method: str
    path: str
    status: int
    subscription: str | None  # digest of the subscription key the request carried


@dataclass
class SalaryLineRecord:
    client_key: str
    dto: dict[str, Any]


def _build_clients(data: dict[str, Any]) -> dict[str, ClientState]:
    clients: dict[str, ClientState] = {}
    for raw in data.get("clients", []):
        key = raw["client_key"]
        if key in clients:
            raise ValueError(f"client key listed twice in the PowerOffice data ({raw.get('client_name')})")
        name = raw.get("client_name", "")
        clients[key] = ClientState(
            client_key=key,
            client_name=name,
            client_id=str(
                raw.get("client_id") or uuid.uuid5(uuid.NAMESPACE_URL, f"poweroffice-client:{name}")
            ),
            subscriptions=list(raw.get("subscriptions", [])),
            invalid_privileges=list(raw.get("invalid_privileges", [])),
            employees={int(e["Id"]): copy.deepcopy(e) for e in raw.get("employees", [])},
            pay_items={str(p["Id"]).lower(): copy.deepcopy(p) for p in raw.get("pay_items", [])},
        )
    return clients


class PowerOfficeEmulator:
    """In-memory PowerOffice Go: clients, tokens, salary lines, faults and the rate limit. Thread-safe."""

    def __init__(
        self,
        data: dict[str, Any],
        application_key: str,
        subscription_key: str,
        *,
        requests_per_second: float = 10,
        token_ttl_s: int = TOKEN_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._data = copy.deepcopy(data)
        self.application_key = application_key
        self.subscription_key = subscription_key
        self.token_ttl_s = token_ttl_s
        self._default_rps = requests_per_second
        self._clock = clock
        self.lock = threading.RLock()
        self.reset()

    def replace_data(self, data: dict[str, Any]) -> None:
        """Serve another data file from now on (tests with their own companies), starting fresh."""
        self._data = copy.deepcopy(data)
        self.reset()

    def reset(self) -> None:
        """Back to the data file's state: no salary lines, tokens, faults, locks or rate-limit history."""
        with self.lock:
            self.clients = _build_clients(self._data)
            self.lines: dict[int, SalaryLineRecord] = {}
            self.next_line_id = FIRST_SALARY_LINE_ID
            self.tokens: dict[str, Token] = {}
            self.faults: list[FaultRule] = []
            self.lock_all = False
            self.requests_per_second = self._default_rps
            self._log: list[LoggedRequest] = []
            self._accepted: dict[str, deque[float]] = {}

    # --- helpers tests call directly -------------------------------------------------------------

    @property
    def request_log(self) -> list[tuple[float, str, str, int]]:
        with self.lock:
            return [(r.at, r.method, r.path, r.status) for r in self._log]

    def salary_lines(self, client_key: str) -> list[dict[str, Any]]:
        """The client's salary lines as SalaryLineDtos (hard-deleted ones are gone)."""
        with self.lock:
            return [copy.deepcopy(r.dto) for r in self.lines.values() if r.client_key == client_key]

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        with self.lock:
            self.faults = [FaultRule.from_json(rule) for rule in rules]

    def lock_lines(self, salary_line_ids: list[int] | None = None, *, all_lines: bool = False) -> None:
        with self.lock:
            if all_lines:
                self.lock_all = True
            for line_id, record in self.lines.items():
                if all_lines or line_id in set(salary_line_ids or []):
                    record.dto["IsLocked"] = True
                    record.dto["LastChangedDateTimeOffset"] = now_iso()

    def unlock_lines(self, salary_line_ids: list[int] | None = None, *, all_lines: bool = False) -> None:
        """The payroll that held these lines is reopened (or they are taken out of it): DELETE works again."""
        with self.lock:
            if all_lines:
                self.lock_all = False
            for line_id, record in self.lines.items():
                if all_lines or line_id in set(salary_line_ids or []):
                    record.dto["IsLocked"] = False
                    record.dto["LastChangedDateTimeOffset"] = now_iso()

    def delete_by_user(self, salary_line_ids: list[int]) -> None:
        """What a Go user deleting the line in the UI does: a soft delete the API still shows."""
        with self.lock:
            for line_id in salary_line_ids:
                if line_id in self.lines:
                    self.lines[line_id].dto["IsDeletedByUser"] = True

    def expire_tokens(self, client_key: str | None = None) -> int:
        with self.lock:
            expired = 0
            for token in self.tokens.values():
                if client_key is None or token.client_key == client_key:
                    token.expires_at = self._clock() - 1
                    expired += 1
            return expired

    def upsert_employees(self, client_key: str, employees: list[dict[str, Any]]) -> None:
        with self.lock:
            client = self.clients[client_key]
            for employee in employees:
                client.employees[int(employee["Id"])] = copy.deepcopy(employee)

    def set_rate_limit(self, requests_per_second: float) -> None:
        with self.lock:
            self.requests_per_second = requests_per_second

    def stats(self, subscription_key: str | None = None) -> dict[str, int]:
        """Requests, 429s and the busiest sliding 1-second window of accepted requests, for one key."""
        digest = key_digest(subscription_key or self.subscription_key)
        with self.lock:
            mine = [r for r in self._log if r.subscription == digest]
        accepted = sorted(r.at for r in mine if r.status != 429)
        busiest, start = 0, 0
        for end, at in enumerate(accepted):
            while at - accepted[start] >= 1.0:
                start += 1
            busiest = max(busiest, end - start + 1)
        return {
            "max_requests_in_any_second": busiest,
            "requests": len(mine),
            "throttled": sum(1 for r in mine if r.status == 429),
        }

    def reset_stats(self) -> None:
        with self.lock:
            self._log.clear()

    # --- request pipeline ------------------------------------------------------------------------

    def _log_request(
        self, method: str, path: str, status: int, subscription: str | None, arrived: float
    ) -> None:
        """Logged at arrival time, the instant the rate limit judged, so stats and the limit agree."""
        with self.lock:
            self._log.append(LoggedRequest(arrived, method, path, status, subscription))

    def _admit(self, digest: str, now: float) -> bool:
        """Sliding 1-second window over every accepted request carrying this subscription key."""
        with self.lock:
            window = self._accepted.setdefault(digest, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.requests_per_second:
                return False
            window.append(now)
            return True

    def _fault_for(self, method: str, path: str) -> FaultRule | None:
        with self.lock:
            return firing_rule(self.faults, method, path)

    def _client_for_bearer(self, request: Request) -> ClientState | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        with self.lock:
            entry = self.tokens.get(token.strip())
            if entry is None or entry.expires_at <= self._clock():
                return None
            return self.clients.get(entry.client_key)

    def issue_token(self, client_key: str) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = Token(client_key, self._clock() + self.token_ttl_s)
        return token


# --- routes ---------------------------------------------------------------------------------------

Handler = Callable[[PowerOfficeEmulator, Request, ClientState | None, dict[str, str]], Awaitable[Response]]


@dataclass
class ApiRoute:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    privilege: tuple[str, ...] | None  # any of these must be valid; None = no payroll check
    authenticated: bool = True


def _query(request: Request) -> dict[str, str]:
    """Query parameters with lowercased names: ASP.NET binds them case-insensitively."""
    parsed = parse_qs(request.url.query, keep_blank_values=True)
    return {name.lower(): values[-1] for name, values in parsed.items()}


class BadRequest(Exception):
    status = 400

    def __init__(self, detail: str, title: str = "Bad request") -> None:
        super().__init__(detail)
        self.title = title
        self.detail = detail


class ReferencedNotFound(BadRequest):
    """A POST naming an employee or pay item the client does not have: 404, as the spec documents."""

    status = 404


def _paging(query: dict[str, str]) -> tuple[int, int]:
    for name in query:
        if name.startswith("$"):
            raise BadRequest(
                f"OData query option '{name}' is not supported. Use PageNumber and PageSize.",
                "Invalid resourceParameter",
            )
    try:
        page_number = int(query.get("pagenumber", "1") or "1")
        page_size = int(query.get("pagesize", str(DEFAULT_PAGE_SIZE)) or DEFAULT_PAGE_SIZE)
    except ValueError as error:
        raise BadRequest(
            "PageNumber and PageSize must be whole numbers.", "Invalid resourceParameter"
        ) from error
    if page_number < 1:
        raise BadRequest("PageNumber must be 1 or greater.", "Invalid resourceParameter")
    if page_size < 1 or page_size > MAX_PAGE_SIZE:
        raise BadRequest(f"PageSize must be between 1 and {MAX_PAGE_SIZE}.", "Invalid resourceParameter")
    return page_number, page_size


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    page_number, page_size = _paging(query)
    start = (page_number - 1) * page_size
    return items[start : start + page_size]


def parse_number_filter(text: str) -> list[tuple[int, int | None]]:
    """'1, 100-200, 500-' -> [(1, 1), (100, 200), (500, None)] (inclusive; None = no upper bound)."""
    ranges: list[tuple[int, int | None]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        match = re.fullmatch(r"(\d+)\s*(-\s*(\d*))?", part)
        if not match:
            raise BadRequest(
                f"employeeNos contains '{part}', which is neither a number nor a range of numbers.",
                "Unable to cast object(s)",
            )
        low = int(match.group(1))
        if match.group(2) is None:
            ranges.append((low, low))
        else:
            ranges.append((low, int(match.group(3)) if match.group(3) else None))
    return ranges


def _in_ranges(number: int, ranges: list[tuple[int, int | None]]) -> bool:
    return any(low <= number and (high is None or number <= high) for low, high in ranges)


async def get_client_integration_information(
    emulator: PowerOfficeEmulator, request: Request, client: ClientState | None, params: dict[str, str]
) -> Response:
    assert client is not None
    return json_response(
        {
            "ActiveClientSubscriptions": list(client.subscriptions),
            "ClientId": client.client_id,
            "ClientName": client.client_name,
            "InvalidPrivileges": client.all_invalid_privileges(),
            "ValidPrivileges": client.valid_privileges(),
        }
    )


async def get_employees(
    emulator: PowerOfficeEmulator, request: Request, client: ClientState | None, params: dict[str, str]
) -> Response:
    assert client is not None
    query = _query(request)
    _paging(query)
    with emulator.lock:
        employees = sorted(
            client.employees.values(), key=lambda e: (e.get("Number") is None, e.get("Number") or 0)
        )
        employees = copy.deepcopy(employees)
    if query.get("employeenos", "").strip():
        ranges = parse_number_filter(query["employeenos"])
        employees = [
            e for e in employees if e.get("Number") is not None and _in_ranges(int(e["Number"]), ranges)
        ]
    return list_response(_page(employees, query))


async def get_pay_items(
    emulator: PowerOfficeEmulator, request: Request, client: ClientState | None, params: dict[str, str]
) -> Response:
    assert client is not None
    query = _query(request)
    _paging(query)
    with emulator.lock:
        pay_items = copy.deepcopy(list(client.pay_items.values()))
    if query.get("codes", "").strip():
        codes = {c.strip() for c in query["codes"].split(",") if c.strip()}
        pay_items = [p for p in pay_items if str(p.get("Code")) in codes]
    if "isactive" in query:
        wanted = query["isactive"].strip().lower()
        if wanted not in ("true", "false"):
            raise BadRequest(f"The value '{query['isactive']}' is not valid for isActive.")
        pay_items = [p for p in pay_items if bool(p.get("IsActive")) == (wanted == "true")]
    return list_response(_page(pay_items, query))


async def get_pay_item(
    emulator: PowerOfficeEmulator, request: Request, client: ClientState | None, params: dict[str, str]
) -> Response:
    assert client is not None
    pay_item_id = params["id"]
    with emulator.lock:
        pay_item = copy.deepcopy(client.pay_items.get(pay_item_id.lower()))
    if pay_item is None:
        return problem(404, NOT_FOUND_TITLE, f"Pay item with id = {pay_item_id} not found.")
    return json_response(pay_item)


async def get_salary_lines(
    emulator: PowerOfficeEmulator, request: Request, client: ClientState | None, params: dict[str, str]
) -> Response:
    assert client is not None
    query = _query(request)
    _paging(query)
    lines = sorted(emulator.salary_lines(client.client_key), key=lambda dto: dto["Id"])
    return list_response(_page(lines, query))


def _line_id(params: dict[str, str]) -> int:
    try:
        return int(params["id"])
    except ValueError as error:
        raise BadRequest(f"The value '{params['id']}' is not valid.") from error


def _own_line(emulator: PowerOfficeEmulator, client: ClientState, line_id: int) -> Any:
    """The line if this client created it; lines of other clients do not exist for it (caller holds the lock)."""
    record = emulator.lines.get(line_id)
    return record if record is not None and record.client_key == client.client_key else None


def _line_not_found(line_id: int) -> Response:
    return problem(404, NOT_FOUND_TITLE, f"Salary line with id = {line_id} not found.")


async def get_salary_line(
    emulator: PowerOfficeEmulator, request: Request, client: ClientState | None, params: dict[str, str]
) -> Response:
    assert client is not None
    line_id = _line_id(params)
    with emulator.lock:
        record = _own_line(emulator, client, line_id)
        if record is None:
            return _line_not_found(line_id)
        return json_response(copy.deepcopy(record.dto))


async def delete_salary_line(
    emulator: PowerOfficeEmulator, request: Request, client: ClientState | None, params: dict[str, str]
) -> Response:
    assert client is not None
    line_id = _line_id(params)
    with emulator.lock:
        record = _own_line(emulator, client, line_id)
        if record is None:
            return _line_not_found(line_id)
        if record.dto.get("IsLocked"):
            return problem(
                409,
                "Salary line conflict",
                f"Salary line with id = {line_id} is in use and cannot be deleted.",
            )
        del emulator.lines[line_id]
    return Response(status_code=200)


def _validate_post(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a SalaryLinePostDto JSON object.", VALIDATION_TITLE)
    unknown = sorted(set(body) - set(POST_FIELDS))
    if unknown:
        raise BadRequest(f"Unknown field(s) on SalaryLinePostDto: {', '.join(unknown)}.", VALIDATION_TITLE)
    for name in ("EmployeeId", "PayItemId"):
        if body.get(name) is None:
            raise BadRequest(f"The {name} field is required.", VALIDATION_TITLE)
    for name, value in body.items():
        if value is None:
            continue
        if name in NUMBER_FIELDS and (isinstance(value, bool) or not isinstance(value, int | Decimal)):
            raise BadRequest(
                f"The JSON value of {name} could not be converted to System.Decimal.", VALIDATION_TITLE
            )
        if name in INTEGER_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
            raise BadRequest(
                f"The JSON value of {name} could not be converted to System.Int64.", VALIDATION_TITLE
            )
    try:
        uuid.UUID(str(body["PayItemId"]))
    except ValueError as error:
        raise BadRequest(
            "The JSON value of PayItemId could not be converted to System.Guid.", VALIDATION_TITLE
        ) from error
    reference = body.get("ExternalImportReference")
    if reference is not None and not isinstance(reference, str):
        raise BadRequest("ExternalImportReference must be a string.", VALIDATION_TITLE)
    return body


def _computed_fields(post: dict[str, Any], pay_item: dict[str, Any]) -> dict[str, Any]:
    """Rate and Amount as Go computes them from the pay item's ProcessingType (the spec's descriptions).

    `QuantityAndFixedRate…`: Quantity required; the pay item's own Rate applies unless the line sends a Rate,
    which overrides it. `QuantityAndRate…`: Quantity and Rate required. Either way Go calculates the amount
    from quantity and rate. `ExpenseRefund` and `FixedAmount`: Amount required.
    """
    processing_type = str(pay_item.get("ProcessingType") or "")
    code = pay_item.get("Code")
    quantity, rate = post.get("Quantity"), post.get("Rate")
    if processing_type.startswith("QuantityAndFixedRate") or processing_type.startswith("QuantityAndRate"):
        if quantity is None:
            raise BadRequest(
                f"The Quantity field is required for pay item '{code}' with processing type {processing_type}.",
                VALIDATION_TITLE,
            )
        if rate is None and processing_type.startswith("QuantityAndFixedRate"):
            own = pay_item.get("Rate")
            rate = Decimal(str(own)) if own is not None else None
        if rate is None:
            raise BadRequest(
                f"The Rate field is required for pay item '{code}' with processing type {processing_type}.",
                VALIDATION_TITLE,
            )
        amount = (Decimal(quantity) * Decimal(rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return {"Rate": rate, "Amount": amount}
    if processing_type in ("ExpenseRefund", "FixedAmount") and post.get("Amount") is None:
        raise BadRequest(
            f"The Amount field is required for pay item '{code}' with processing type {processing_type}.",
            VALIDATION_TITLE,
        )
    return {}


async def post_salary_line(
    emulator: PowerOfficeEmulator, request: Request, client: ClientState | None, params: dict[str, str]
) -> Response:
    assert client is not None
    raw = await request.body()
    try:
        body = json.loads(raw, parse_float=Decimal) if raw else None
    except ValueError as error:
        raise BadRequest("The request body is not valid JSON.", VALIDATION_TITLE) from error
    post = _validate_post(body)
    employee_id = post["EmployeeId"]
    pay_item_id = str(post["PayItemId"]).lower()
    reference = post.get("ExternalImportReference")
    with emulator.lock:
        if employee_id not in client.employees:
            raise ReferencedNotFound(f"Employee with id = {employee_id} not found.", VALIDATION_TITLE)
        pay_item = client.pay_items.get(pay_item_id)
        if pay_item is None:
            raise ReferencedNotFound(f"Pay item with id = {post['PayItemId']} not found.", VALIDATION_TITLE)
        if not pay_item.get("IsActive"):
            raise BadRequest(
                f"Pay item with code = '{pay_item.get('Code')}' is not active.", VALIDATION_TITLE
            )
        if reference:
            for line_id, record in emulator.lines.items():
                if (
                    record.client_key == client.client_key
                    and record.dto.get("ExternalImportReference") == reference
                ):
                    raise BadRequest(
                        f"ExternalImportReference is already in use. '{reference}' is used on salary line with Id = {line_id}.",
                        VALIDATION_TITLE,
                    )
        computed = _computed_fields(post, pay_item)
        line_id = emulator.next_line_id
        emulator.next_line_id += 1
        stamp = now_iso()
        dto: dict[str, Any] = {name: post.get(name) for name in POST_FIELDS}
        dto.update(computed)
        dto.update(
            {
                "Id": line_id,
                "PayItemId": str(post["PayItemId"]),
                "CreatedDateTimeOffset": stamp,
                "LastChangedDateTimeOffset": stamp,
                "IsLocked": emulator.lock_all,
                "IsDeletedByUser": False,
            }
        )
        emulator.lines[line_id] = SalaryLineRecord(client.client_key, dto)
        return json_response(copy.deepcopy(dto), 201)


API_ROUTES = [
    ApiRoute("GET", re.compile(r"/ClientIntegrationInformation"), get_client_integration_information, None),
    ApiRoute("GET", re.compile(r"/Employees"), get_employees, ("Employee", "Employee_Full")),
    ApiRoute("GET", re.compile(r"/PayItems"), get_pay_items, ("PayItem", "PayItem_Full")),
    ApiRoute("GET", re.compile(r"/PayItems/(?P<id>[^/]+)"), get_pay_item, ("PayItem", "PayItem_Full")),
    ApiRoute("GET", re.compile(r"/SalaryLines"), get_salary_lines, ("SalaryLine", "SalaryLine_Full")),
    ApiRoute("POST", re.compile(r"/SalaryLines"), post_salary_line, ("SalaryLine_Full",)),
    ApiRoute(
        "GET", re.compile(r"/SalaryLines/(?P<id>[^/]+)"), get_salary_line, ("SalaryLine", "SalaryLine_Full")
    ),
    ApiRoute("DELETE", re.compile(r"/SalaryLines/(?P<id>[^/]+)"), delete_salary_line, ("SalaryLine_Full",)),
]


def _forbidden(client: ClientState, privileges: tuple[str, ...]) -> Response | None:
    if not client.has_payroll:
        return problem(
            403,
            "Forbidden",
            "The client does not subscribe to the Payroll module in PowerOffice Go; payroll endpoints are unavailable.",
        )
    valid = set(client.valid_privileges())
    if not any(p in valid for p in privileges):
        return problem(
            403,
            "Forbidden",
            f"The integration lacks the privilege {' or '.join(privileges)} on this client.",
        )
    return None


async def _token(emulator: PowerOfficeEmulator, request: Request) -> Response:
    """OAuth2 client credentials: Basic base64(application key:client key)."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    if form.get("grant_type", [""])[-1] != "client_credentials":
        return json_response(
            {"error": "unsupported_grant_type", "error_description": "Only client_credentials is supported."},
            400,
        )
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        decoded = (
            base64.b64decode(encoded.strip(), validate=True).decode() if scheme.lower() == "basic" else ""
        )
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    application_key, _, client_key = decoded.partition(":")
    known = client_key in emulator.clients
    if not (secrets.compare_digest(application_key, emulator.application_key) and known):
        return json_response(INVALID_CLIENT_BODY, 400)
    token = emulator.issue_token(client_key)
    return json_response({"access_token": token, "token_type": "bearer", "expires_in": emulator.token_ttl_s})


async def _api(emulator: PowerOfficeEmulator, request: Request, path: str) -> Response:
    """Every public request: subscription key, rate limit, faults, then token, privileges and the handler."""
    method = request.method.upper()
    arrived = emulator._clock()
    provided = request.headers.get(SUBSCRIPTION_HEADER) or request.query_params.get("subscription-key")
    digest = key_digest(provided) if provided else None
    if not provided or not secrets.compare_digest(provided, emulator.subscription_key):
        response = problem(
            401,
            "Access denied",
            "Access denied due to missing or invalid subscription key. Make sure to provide a valid key for an active subscription.",
        )
        emulator._log_request(method, path, 401, digest, arrived)
        return response
    assert digest is not None
    if not emulator._admit(digest, arrived):
        emulator._log_request(method, path, 429, digest, arrived)
        return rate_limited()

    fault_path = path[3:] if path.lower().startswith("/v2/") else path
    fault = emulator._fault_for(method, fault_path)
    if fault is not None and not fault.after_commit and fault.status is not None:
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        response = _fault_response(fault.status)
        emulator._log_request(method, path, response.status_code, digest, arrived)
        return response

    response = await _dispatch(emulator, request, method, path)
    if fault is not None:
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.status is not None:
            # after_commit: the work is done, but the caller hears a failure (the ambiguous case).
            response = _fault_response(fault.status)
    emulator._log_request(method, path, response.status_code, digest, arrived)
    return response


def _fault_response(status: int) -> Response:
    if status == 429:
        return rate_limited()
    if status >= 400:
        return problem(status, "Injected fault", f"The emulator was told to answer {status} to this request.")
    return Response(status_code=status)


async def _dispatch(emulator: PowerOfficeEmulator, request: Request, method: str, path: str) -> Response:
    if path.lower() == "/oauth/token":
        if method != "POST":
            return problem(405, "Method not allowed", "Use POST for the token endpoint.")
        return await _token(emulator, request)
    if not path.lower().startswith("/v2/"):
        return problem(404, "Not found", f"No resource at {path}.")
    api_path = path[3:]
    allowed = False
    for route in API_ROUTES:
        match = route.pattern.fullmatch(api_path)
        if match is None:
            continue
        allowed = True
        if route.method != method:
            continue
        client = emulator._client_for_bearer(request)
        if client is None:
            return problem(
                401,
                "Unauthorized",
                "Access token is missing, invalid or expired.",
                {"WWW-Authenticate": "Bearer"},
            )
        if route.privilege is not None:
            forbidden = _forbidden(client, route.privilege)
            if forbidden is not None:
                return forbidden
        try:
            return await route.handler(emulator, request, client, match.groupdict())
        except BadRequest as error:
            return problem(error.status, error.title, error.detail)
    if allowed:
        return problem(405, "Method not allowed", f"{method} is not supported on {path}.")
    return problem(404, "Not found", f"No resource at {path}.")


# --- control surface (no auth, not rate limited) --------------------------------------------------


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    body = json.loads(raw) if raw else {}
    if not isinstance(body, dict):
        raise ValueError("control requests take a JSON object")
    return body


async def _bad_control_request(request: Request, error: Exception) -> Response:
    return problem(400, "Bad request", f"Could not read the control request: {error}")


def _control_routes(emulator: PowerOfficeEmulator) -> list[Route]:
    async def faults(request: Request) -> Response:
        body = await _json_body(request)
        emulator.set_faults(list(body.get("rules", [])))
        return json_response({"rules": len(emulator.faults)})

    async def lock(request: Request) -> Response:
        body = await _json_body(request)
        emulator.lock_lines(
            [int(i) for i in body.get("salary_line_ids", [])], all_lines=bool(body.get("all"))
        )
        return json_response({"locked": True})

    async def unlock(request: Request) -> Response:
        body = await _json_body(request)
        emulator.unlock_lines(
            [int(i) for i in body.get("salary_line_ids", [])], all_lines=bool(body.get("all"))
        )
        return json_response({"locked": False})

    async def reset(request: Request) -> Response:
        emulator.reset()
        return json_response({"reset": True})

    async def rate_limit(request: Request) -> Response:
        body = await _json_body(request)
        requests_per_second = float(body.get("requests_per_second", 10))
        if requests_per_second <= 0:
            return problem(400, "Bad request", "requests_per_second must be positive.")
        emulator.set_rate_limit(requests_per_second)
        return json_response({"requests_per_second": requests_per_second})

    async def stats(request: Request) -> Response:
        return json_response(emulator.stats())

    async def requests_log(request: Request) -> Response:
        return json_response(
            {
                "requests": [
                    {"at": at, "method": method, "path": path, "status": status}
                    for at, method, path, status in emulator.request_log
                ]
            }
        )

    async def stats_reset(request: Request) -> Response:
        emulator.reset_stats()
        return json_response({"reset": True})

    async def expire_tokens(request: Request) -> Response:
        body = await _json_body(request)
        return json_response({"expired": emulator.expire_tokens(body.get("client_key"))})

    async def employees(request: Request) -> Response:
        body = await _json_body(request)
        client_key = body.get("client_key")
        if client_key not in emulator.clients:
            return problem(404, "Not found", "No client with that client key.")
        emulator.upsert_employees(client_key, list(body.get("employees", [])))
        return json_response({"employees": len(emulator.clients[client_key].employees)})

    async def delete_by_user(request: Request) -> Response:
        body = await _json_body(request)
        emulator.delete_by_user([int(i) for i in body.get("salary_line_ids", [])])
        return json_response({"deleted_by_user": True})

    async def salary_lines(request: Request) -> Response:
        client_key = request.query_params.get("client_key", "")
        if client_key not in emulator.clients:
            return problem(404, "Not found", "No client with that client key.")
        return json_response({"salary_lines": emulator.salary_lines(client_key)})

    return [
        Route("/_control/faults", faults, methods=["POST"]),
        Route("/_control/lock", lock, methods=["POST"]),
        Route("/_control/unlock", unlock, methods=["POST"]),
        Route("/_control/reset", reset, methods=["POST"]),
        Route("/_control/rate-limit", rate_limit, methods=["PUT"]),
        Route("/_control/stats", stats, methods=["GET"]),
        Route("/_control/stats/reset", stats_reset, methods=["POST"]),
        Route("/_control/requests", requests_log, methods=["GET"]),
        Route("/_control/expire-tokens", expire_tokens, methods=["POST"]),
        Route("/_control/employees", employees, methods=["POST"]),
        Route("/_control/delete-by-user", delete_by_user, methods=["POST"]),
        Route("/_control/salary-lines", salary_lines, methods=["GET"]),
    ]


def create_app(
    data: dict[str, Any],
    application_key: str,
    subscription_key: str,
    *,
    requests_per_second: float = 10,
    token_ttl_s: int = TOKEN_TTL_S,
) -> Starlette:
    """The emulator as an ASGI app with relative routes (/OAuth/Token, /v2/..., /_control/...)."""
    emulator = PowerOfficeEmulator(
        data,
        application_key,
        subscription_key,
        requests_per_second=requests_per_second,
        token_ttl_s=token_ttl_s,
    )

    async def api(request: Request) -> Response:
        return await _api(emulator, request, "/" + request.path_params["path"])

    routes = [
        *_control_routes(emulator),
        Route("/{path:path}", api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    app = Starlette(routes=routes, exception_handlers={ValueError: _bad_control_request})
    app.state.emulator = emulator
    return app


def load_data(path: str | Path | None = None) -> dict[str, Any]:
    """A PowerOffice data file (local/demo_data/poweroffice.json shape); the built-in demo company when no path is given."""
    with open(path or DEMO_DATA_PATH, encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data
