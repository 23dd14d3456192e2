"""PowerOffice client behaviour on scripted answers: headers, token cache, 401 refresh, retries, pacing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest

from abax_payroll.poweroffice import (
    TOKENS,
    AuthenticationFailed,
    PowerOfficeClient,
    PowerOfficeError,
    PowerOfficeUnavailable,
    SalaryLineLocked,
    TokenCache,
)

API = "https://po.test/v2"
TOKEN_URL = "https://po.test/OAuth/Token"
INFO = {"ClientName": "Acme", "ClientId": "1", "ValidPrivileges": [], "InvalidPrivileges": [],
        "ActiveClientSubscriptions": ["Payroll"]}  # fmt: skip

Handler = Callable[[httpx.Request], httpx.Response]


class Script:
    """A fake PowerOffice: the token endpoint issues token-1, token-2, ...; API calls go to `api`."""

    def __init__(self, api: Handler) -> None:
        self.api = api
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/OAuth/Token":
            self.tokens_issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"token-{self.tokens_issued}",
                    "token_type": "bearer",
                    "expires_in": 600,
                },
            )
        return self.api(request)


class CountingLimiter:
    def __init__(self) -> None:
        self.acquired = 0

    def acquire(self) -> None:
        self.acquired += 1


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    TOKENS.clear()
    yield
    TOKENS.clear()


def _client(script: Script, client_key: str = "client-key-1", **options) -> PowerOfficeClient:
    options.setdefault("sleep", lambda seconds: None)
    return PowerOfficeClient(
        API, TOKEN_URL, "app-key", "sub-key", client_key, transport=httpx.MockTransport(script), **options
    )


def test_token_request_and_headers_on_every_call():
    script = Script(lambda request: httpx.Response(200, json=INFO))
    limiter = CountingLimiter()
    with _client(script, limiter=limiter) as client:
        client.client_integration_information()
        client.client_integration_information()
    token_call, *api_calls = script.requests
    assert token_call.method == "POST"
    assert (
        token_call.headers["authorization"] == "Basic " + base64.b64encode(b"app-key:client-key-1").decode()
    )
    assert token_call.content == b"grant_type=client_credentials"
    assert token_call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert all(r.headers["ocp-apim-subscription-key"] == "sub-key" for r in script.requests)
    assert [r.headers["authorization"] for r in api_calls] == ["Bearer token-1", "Bearer token-1"]
    assert limiter.acquired == 3  # the token call is paced as well


def test_clients_with_the_same_key_share_the_token():
    script = Script(lambda request: httpx.Response(200, json=INFO))
    _client(script).client_integration_information()
    _client(script).client_integration_information()
    _client(script, "client-key-2").client_integration_information()
    assert script.tokens_issued == 2


def test_401_fetches_a_new_token_once():
    answers = iter([httpx.Response(401), httpx.Response(200, json=INFO)])
    script = Script(lambda request: next(answers))
    _client(script).client_integration_information()
    assert script.tokens_issued == 2
    assert script.requests[-1].headers["authorization"] == "Bearer token-2"


def test_401_twice_is_an_authentication_failure():
    script = Script(lambda request: httpx.Response(401, json={"title": "Unauthorized", "status": 401}))
    with pytest.raises(AuthenticationFailed):
        _client(script).client_integration_information()
    assert script.tokens_issued == 2


def test_connection_errors_are_retried_then_unavailable():
    sleeps: list[float] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    script = Script(refuse)
    with pytest.raises(PowerOfficeUnavailable) as raised:
        _client(script, max_attempts=3, sleep=sleeps.append).client_integration_information()
    assert sleeps == [pytest.approx(0.2), pytest.approx(0.4)]
    assert "client-key-1" not in str(raised.value) and "token-1" not in str(raised.value)


def test_token_endpoint_5xx_is_retried():
    answers = iter([httpx.Response(503), httpx.Response(200, json={"access_token": "t", "expires_in": 600})])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/OAuth/Token":
            return next(answers)
        return httpx.Response(200, json=INFO)

    client = PowerOfficeClient(
        API, TOKEN_URL, "a", "s", "c", transport=httpx.MockTransport(handler), sleep=lambda s: None
    )
    assert client.client_integration_information().client_name == "Acme"


def test_429_waits_at_least_a_second_and_honours_the_message():
    sleeps: list[float] = []
    answers = iter(
        [
            httpx.Response(429, json={"statusCode": "429", "message": "Rate limit is exceeded. Try again in 3 seconds."}),
            httpx.Response(429, json={"statusCode": "429", "message": "Rate limit is exceeded."}, headers={"Retry-After": "0"}),
            httpx.Response(200, json=INFO),
        ]
    )  # fmt: skip
    _client(Script(lambda request: next(answers)), sleep=sleeps.append).client_integration_information()
    assert sleeps == [3.0, 1.0]


def test_unexpected_status_is_a_power_office_error():
    script = Script(
        lambda request: httpx.Response(418, json={"title": "Teapot", "detail": "short and stout"})
    )
    with pytest.raises(PowerOfficeError) as raised:
        _client(script).client_integration_information()
    assert raised.value.status == 418 and raised.value.detail == "short and stout"


def test_204_lists_are_empty():
    assert _client(Script(lambda request: httpx.Response(204))).list_salary_lines() == []


def test_employee_numbers_are_sent_as_ranges():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params["employeeNos"])
        return httpx.Response(
            200, json=[{"Id": 9, "Number": 1002, "FirstName": "Kari", "LastName": "Hansen"}]
        )

    employees = _client(Script(handler)).employees_by_numbers(["1003", "1001", "1002", "1007", "01002", "x"])
    assert seen == ["1001-1003,1007"]
    assert sorted(employees) == ["01002", "1002"]


def test_token_cache_renews_a_minute_before_expiry():
    now = [0.0]
    cache = TokenCache(clock=lambda: now[0])
    issued = iter(["a", "b"])
    fetch = lambda: (next(issued), 600.0)  # noqa: E731
    assert cache.get("k", fetch) == "a"
    now[0] = 539.0
    assert cache.get("k", fetch) == "a"
    now[0] = 540.5
    assert cache.get("k", fetch) == "b"


def test_repr_shows_only_the_api_url():
    client = _client(Script(lambda request: httpx.Response(200, json=INFO)))
    assert repr(client) == "PowerOfficeClient(api_url='https://po.test/v2')"
    assert "app-key" not in repr(vars(client).get("_http"))


def test_request_bodies_are_json_with_content_type():
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        assert request.headers["content-type"] == "application/json"
        return httpx.Response(201, json={"Id": 1, **bodies[-1]})

    from decimal import Decimal

    from abax_payroll.poweroffice import SalaryLinePost

    line = _client(Script(handler)).create_salary_line(
        SalaryLinePost(employee_id=1, pay_item_id="p", amount=Decimal("99.90"), external_import_reference="r")
    )
    assert bodies == [{"EmployeeId": 1, "PayItemId": "p", "Amount": 99.9, "ExternalImportReference": "r"}]
    assert line.amount == Decimal("99.9")


def test_a_delete_answered_409_is_a_locked_line_never_a_success():
    problem = {"title": "Conflict", "status": 409, "detail": "The salary line is part of a payroll run"}
    script = Script(lambda request: httpx.Response(409, json=problem))
    with _client(script) as client, pytest.raises(SalaryLineLocked) as raised:
        client.delete_salary_line(7100000001)
    assert raised.value.salary_line_id == 7100000001
    assert raised.value.detail == "The salary line is part of a payroll run"
    assert [request.method for request in script.requests if request.url.path != "/OAuth/Token"] == ["DELETE"]


def test_a_delete_answered_204_or_200_is_deleted():
    for status, deleted in ((204, True), (200, True)):
        script = Script(lambda request, status=status: httpx.Response(status))
        with _client(script) as client:
            assert client.delete_salary_line(7100000001) is deleted
