"""Synchronous PowerOffice Go v2 client: token, employees, pay items, salary lines; retries and 429s handled."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from ..domain.payroll import Employee, PayItem
from ..errors import (
    AuthenticationFailed,
    ClientKeyRejected,
    PowerOfficeError,
    PowerOfficeUnavailable,
    PrivilegesMissing,
    RateLimited,
    SalaryLineLocked,
    SalaryLineRejected,
)
from ..observability import SERVICE
from ..tls import tls_context
from .dtos import (
    ClientIntegrationInformation,
    Problem,
    SalaryLine,
    SalaryLinePost,
    duplicate_reference_line_id,
    employee_from_dto,
    loads_json,
    pay_item_from_dto,
    retry_after_seconds,
)
from .ratelimit import RateLimiter
from .tokens import TOKENS, cache_key

# A child of the powertools logger: its lines carry the export and tenant ids the handlers append.
logger = logging.getLogger(f"{SERVICE}.poweroffice")

SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"
PAGE_SIZE = 5000  # PowerOffice Go's default page size (max 20000)
# employeeNos parts per request: keeps the query string far below URL length limits.
EMPLOYEE_FILTER_PARTS = 200
PAY_ITEM_CODES_PER_REQUEST = 200
# A 5xx or a timeout is tried again after 0.2 s, 0.4 s, … (the test suite's stack passes a shorter one).
RETRY_BACKOFF_S = 0.2
MIN_RATE_LIMIT_WAIT_S = 1.0  # PowerOffice's documented advice: wait at least one second after a 429


@dataclass(frozen=True, slots=True)
class _Answer:
    response: httpx.Response
    # True when an earlier attempt may have reached the server (timeout, 5xx): a 404 on DELETE
    # or a duplicate reference on POST may then be our own earlier success.
    retried: bool


class PowerOfficeClient:
    def __init__(
        self,
        api_url: str,
        token_url: str,
        application_key: str,
        subscription_key: str,
        client_key: str,
        *,
        limiter: RateLimiter | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        max_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        rate_limit_budget_s: float = 120.0,
        backoff_s: float = RETRY_BACKOFF_S,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.api_url = api_url.rstrip("/")
        self.token_url = token_url
        self._application_key = application_key
        self._subscription_key = subscription_key
        self._client_key = client_key
        self._token_cache_key = cache_key(token_url, application_key, client_key)
        self._limiter = limiter
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._rate_limit_budget_s = rate_limit_budget_s
        self._backoff_s = backoff_s
        self._http = httpx.Client(timeout=httpx.Timeout(timeout), transport=transport, verify=tls_context())

    def __repr__(self) -> str:
        return f"PowerOfficeClient(api_url={self.api_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PowerOfficeClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- API ------------------------------------------------------------------------------------

    def client_integration_information(self) -> ClientIntegrationInformation:
        answer = self._api("GET", "/ClientIntegrationInformation")
        self._raise_unless(answer.response, 200)
        return ClientIntegrationInformation.model_validate(loads_json(answer.response.content))

    def employees_by_numbers(self, numbers: Iterable[str]) -> dict[str, Employee]:
        """Employees whose number is in `numbers`, keyed by the number as asked; unknown numbers are absent.

        Go's numbers are integers, so "01001" finds employee 1001; anything not a number cannot exist there.
        """
        asked: dict[int, list[str]] = {}
        for number in numbers:
            if number.strip().isdigit():
                asked.setdefault(int(number.strip()), []).append(number.strip())
        found: dict[str, Employee] = {}
        parts = employee_number_filter(asked)
        for start in range(0, len(parts), EMPLOYEE_FILTER_PARTS):
            employee_nos = ",".join(parts[start : start + EMPLOYEE_FILTER_PARTS])
            for dto in self._pages("/Employees", {"employeeNos": employee_nos}):
                employee = employee_from_dto(dto)
                if employee is not None and employee.number.isdigit() and int(employee.number) in asked:
                    for as_asked in asked[int(employee.number)]:
                        found[as_asked] = employee
        return found

    def pay_items(self) -> list[PayItem]:
        """Every pay item of the client (the `codes` filter left out), for choosing codes by name."""
        found = (pay_item_from_dto(dto) for dto in self._pages("/PayItems", {}))
        return sorted((item for item in found if item is not None), key=lambda item: item.code)

    def pay_items_by_codes(self, codes: Iterable[str]) -> dict[str, PayItem]:
        """Pay items (active or not) whose code is in `codes`, keyed by code."""
        wanted = sorted({c.strip() for c in codes if c.strip()})
        found: dict[str, PayItem] = {}
        for start in range(0, len(wanted), PAY_ITEM_CODES_PER_REQUEST):
            chunk = wanted[start : start + PAY_ITEM_CODES_PER_REQUEST]
            for dto in self._pages("/PayItems", {"codes": ",".join(chunk)}):
                pay_item = pay_item_from_dto(dto)
                if pay_item is not None and pay_item.code in chunk:
                    found[pay_item.code] = pay_item
        return found

    def create_salary_line(self, line: SalaryLinePost) -> SalaryLine:
        """Create the line; safe to repeat, because a taken ExternalImportReference returns the existing line."""
        answer = self._api(
            "POST", "/SalaryLines", content=line.to_json(), headers={"Content-Type": "application/json"}
        )
        response = answer.response
        if response.status_code in (200, 201):
            return SalaryLine.model_validate(loads_json(response.content))
        problem = Problem.from_body(response.content)
        if response.status_code == 400:
            existing_id = duplicate_reference_line_id(problem.detail)
            if existing_id is not None:
                return self._existing_line(existing_id, line, problem, retried=answer.retried)
        if response.status_code in (400, 404, 422):
            raise SalaryLineRejected(
                f"PowerOffice Go rejected the salary line {line.external_import_reference!r}: "
                f"{problem.detail or problem.title or response.status_code}",
                status=response.status_code,
                title=problem.title,
                detail=problem.detail,
            )
        self._raise_unless(response, 201)
        raise AssertionError("unreachable")

    def get_salary_line(self, salary_line_id: int) -> SalaryLine | None:
        answer = self._api("GET", f"/SalaryLines/{int(salary_line_id)}")
        if answer.response.status_code == 404:
            return None
        self._raise_unless(answer.response, 200)
        return SalaryLine.model_validate(loads_json(answer.response.content))

    def list_salary_lines(self) -> list[SalaryLine]:
        """Every line this integration created on the client (PowerOffice shows no others)."""
        return [SalaryLine.model_validate(dto) for dto in self._pages("/SalaryLines", {})]

    def find_salary_lines_by_reference_prefix(self, prefix: str) -> list[SalaryLine]:
        return [
            line
            for line in self.list_salary_lines()
            if line.external_import_reference is not None
            and line.external_import_reference.startswith(prefix)
        ]

    def delete_salary_line(self, salary_line_id: int) -> bool:
        """True when deleted now, False when it was already gone; SalaryLineLocked when in a payroll."""
        return self.delete_salary_line_answer(salary_line_id) != "not_found"

    def delete_salary_line_answer(self, salary_line_id: int) -> str:
        """What Go answered: "deleted" (200), "not_found_after_retry" (404 after a timeout or 5xx: our first DELETE may well have
        gone through) or "not_found" (404). A 404 alone proves nothing (another client key, a proxy): a
        rollback confirms it by listing the lines by their ExternalImportReference. SalaryLineLocked (409)."""
        answer = self._api("DELETE", f"/SalaryLines/{int(salary_line_id)}")
        response = answer.response
        if response.status_code in (200, 204):
            return "deleted"
        if response.status_code == 404:
            return "not_found_after_retry" if answer.retried else "not_found"
        if response.status_code == 409:
            problem = Problem.from_body(response.content)
            raise SalaryLineLocked(int(salary_line_id), title=problem.title, detail=problem.detail)
        self._raise_unless(response, 200)
        return "deleted"

    # --- plumbing -------------------------------------------------------------------------------

    def _existing_line(
        self, existing_id: int, line: SalaryLinePost, problem: Problem, *, retried: bool
    ) -> SalaryLine:
        existing = self.get_salary_line(existing_id)
        if existing is None:
            raise SalaryLineRejected(
                f"ExternalImportReference {line.external_import_reference!r} is taken by salary line "
                f"{existing_id}, which this integration cannot read",
                status=400,
                title=problem.title,
                detail=problem.detail,
            )
        if existing.employee_id != line.employee_id or existing.pay_item_id != line.pay_item_id:
            logger.warning(
                "salary line %s already holds reference %r with another employee or pay item",
                existing_id,
                line.external_import_reference,
            )
        logger.info(
            "salary line reference %r already exists as line %s (%s); reusing it",
            line.external_import_reference,
            existing_id,
            "our retried POST" if retried else "created earlier",
        )
        return existing

    def _pages(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Every item of a paged list: PowerOffice sends bare arrays, so a short page is the last one."""
        page_number = 1
        while True:
            query = {**params, "PageNumber": str(page_number), "PageSize": str(PAGE_SIZE)}
            answer = self._api("GET", path, params=query)
            if answer.response.status_code == 204:
                return
            self._raise_unless(answer.response, 200)
            items = loads_json(answer.response.content) if answer.response.content else []
            if not isinstance(items, list):
                raise PowerOfficeError(f"GET {path} answered something other than a list", status=200)
            yield from items
            if len(items) < PAGE_SIZE:
                return
            page_number += 1

    def _api(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> _Answer:
        """One API call with a bearer token; a 401 drops the cached token and tries once more."""
        url = self.api_url + path
        token = self._token()
        answer = self._exchange(
            method,
            url,
            path,
            params=params,
            content=content,
            headers={**(headers or {}), "Authorization": f"Bearer {token}"},
        )
        if answer.response.status_code != 401:
            return answer
        logger.info("PowerOffice Go answered 401 on %s %s; fetching a new token", method, path)
        TOKENS.invalidate(self._token_cache_key, token)
        token = self._token()
        again = self._exchange(
            method,
            url,
            path,
            params=params,
            content=content,
            headers={**(headers or {}), "Authorization": f"Bearer {token}"},
        )
        if again.response.status_code == 401:
            problem = Problem.from_body(again.response.content)
            raise AuthenticationFailed(
                f"PowerOffice Go refused a fresh access token on {method} {path}"
                + (f": {problem.detail}" if problem.detail else ""),
                status=401,
                title=problem.title,
                detail=problem.detail,
            )
        return _Answer(again.response, answer.retried or again.retried)

    def _token(self) -> str:
        return TOKENS.get(self._token_cache_key, self._fetch_token)

    def _fetch_token(self) -> tuple[str, float]:
        basic = base64.b64encode(f"{self._application_key}:{self._client_key}".encode()).decode()
        answer = self._exchange(
            "POST",
            self.token_url,
            "/OAuth/Token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        response = answer.response
        if response.status_code == 200:
            body = loads_json(response.content)
            if not isinstance(body, dict) or not body.get("access_token"):
                raise PowerOfficeError(
                    "PowerOffice Go's token endpoint answered without an access token", status=200
                )
            logger.info("fetched a PowerOffice Go access token (expires in %s s)", body.get("expires_in"))
            return str(body["access_token"]), float(body.get("expires_in") or 600)
        problem = Problem.from_body(response.content)
        if response.status_code == 400 and (problem.title or "").lower() in (
            "invalid_client",
            "unauthorized_client",
        ):
            raise ClientKeyRejected(
                "PowerOffice Go does not recognise this client key: it is wrong, was revoked, or belongs to "
                "the other environment (demo/production)",
                status=400,
                title=problem.title,
                detail=problem.detail,
            )
        if response.status_code == 401:
            raise AuthenticationFailed(
                "PowerOffice Go refused the integration's subscription key on the token endpoint",
                status=401,
                title=problem.title,
                detail=problem.detail,
            )
        self._raise_unless(response, 200, context="token request")
        raise AssertionError("unreachable")

    def _exchange(
        self,
        method: str,
        url: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str],
    ) -> _Answer:
        """Send until an answer that is not a 5xx, timeout or 429, within the attempt and 429 budgets."""
        all_headers = {**headers, SUBSCRIPTION_HEADER: self._subscription_key, "Accept": "application/json"}
        failures = 0
        rate_limited_s = 0.0
        while True:
            if self._limiter is not None:
                self._limiter.acquire()
            try:
                response = self._http.request(
                    method, url, params=params, content=content, data=data, headers=all_headers
                )
            except httpx.TransportError as error:
                failures += 1
                reason = f"{type(error).__name__}"
                if failures >= self._max_attempts:
                    raise PowerOfficeUnavailable(
                        f"PowerOffice Go did not answer {method} {path} after {failures} attempts ({reason})"
                    ) from None
                self._back_off(method, path, reason, failures)
                continue
            response.read()
            status = response.status_code
            if status == 429:
                wait = max(
                    MIN_RATE_LIMIT_WAIT_S, retry_after_seconds(response.headers, response.content) or 0.0
                )
                if rate_limited_s + wait > self._rate_limit_budget_s:
                    problem = Problem.from_body(response.content)
                    raise RateLimited(
                        f"PowerOffice Go kept rate-limiting {method} {path} for {rate_limited_s:.0f} s",
                        status=429,
                        title=problem.title,
                        detail=problem.detail,
                    )
                rate_limited_s += wait
                logger.info("PowerOffice Go rate limit on %s %s; waiting %.1f s", method, path, wait)
                self._sleep(wait)
                continue
            if status >= 500:
                failures += 1
                if failures >= self._max_attempts:
                    problem = Problem.from_body(response.content)
                    raise PowerOfficeUnavailable(
                        f"PowerOffice Go answered {status} on {method} {path} after {failures} attempts",
                        status=status,
                        title=problem.title,
                        detail=problem.detail,
                    )
                self._back_off(method, path, f"HTTP {status}", failures)
                continue
            return _Answer(response, retried=failures > 0)

    def _back_off(self, method: str, path: str, reason: str, failures: int) -> None:
        delay = self._backoff_s * failures
        logger.warning(
            "PowerOffice Go %s on %s %s (attempt %d of %d); retrying in %.1f s",
            reason,
            method,
            path,
            failures,
            self._max_attempts,
            delay,
        )
        self._sleep(delay)

    def _raise_unless(self, response: httpx.Response, expected: int, *, context: str | None = None) -> None:
        status = response.status_code
        if status == expected:
            return
        what = context or f"{response.request.method} {response.request.url.path}"
        problem = Problem.from_body(response.content)
        explanation = problem.detail or problem.title or ""
        if status == 403:
            raise PrivilegesMissing(
                "PowerOffice Go refused access (403): the client needs the Payroll module and the integration "
                "needs the payroll privileges (Employee, PayItem, SalaryLine_Full)"
                + (f": {explanation}" if explanation else ""),
                status=403,
                title=problem.title,
                detail=problem.detail,
            )
        if status == 401:
            raise AuthenticationFailed(
                f"PowerOffice Go refused the request ({what}): 401"
                + (f": {explanation}" if explanation else ""),
                status=401,
                title=problem.title,
                detail=problem.detail,
            )
        raise PowerOfficeError(
            f"PowerOffice Go answered {status} on {what}" + (f": {explanation}" if explanation else ""),
            status=status,
            title=problem.title,
            detail=problem.detail,
        )


def employee_number_filter(numbers: Iterable[int]) -> list[str]:
    """`employeeNos` parts for these numbers: consecutive runs become ranges ("1001-1005")."""
    parts: list[str] = []
    ordered = sorted(set(numbers))
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - index >= 2:
            parts.append(f"{ordered[index]}-{ordered[end]}")
        else:
            parts.extend(str(n) for n in ordered[index : end + 1])
        index = end + 1
    return parts
