"""Fixtures for contract tests: the PowerOffice Go emulator over real HTTP, and a checker of its answers
against the reference OpenAPI documents (read from the shared reference pack, never copied into the repo)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from abax_payroll.poweroffice import TOKENS, PowerOfficeClient
from local.emulators.poweroffice import PowerOfficeEmulator, create_app, load_data
from local.servers import serving

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DIR = Path(os.environ.get("SHARED_DIR", str(REPO_ROOT.parent / "shared")))
POWEROFFICE_REFERENCE = SHARED_DIR / "reference" / "poweroffice-go-v2"

PO_APPLICATION_KEY = "test-application-key-3c9e1b"
PO_SUBSCRIPTION_KEY = "test-subscription-key-a41f70"
PO_ACME = "acme-demo-client-key-7f3a"
PO_BETA = "beta-demo-client-key-91c2"
PO_GAMMA_NO_PAYROLL = "gamma-no-payroll-key-55d0"
PO_DELTA_NO_PRIVILEGE = "delta-no-privilege-key-3b81"
# Fast enough that ordinary tests never meet the rate limit; the rate-limit tests lower it.
PO_TEST_RATE = 1000


# --- OpenAPI 3.0 -> JSON Schema ------------------------------------------------------------------


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema: `nullable: true` becomes a "null" type / enum member."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: _to_json_schema(value) for key, value in node.items() if key not in ("nullable", "example")
    }
    if node.get("nullable") is True:
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
        if "$ref" in converted:
            converted = {"anyOf": [{"$ref": converted.pop("$ref")}, {"type": "null"}], **converted}
    return converted


class OpenApiChecker:
    """Checks one answer (method, path, status, body) against the payroll subset and the token spec."""

    def __init__(self, reference_dir: Path) -> None:
        import yaml
        from jsonschema import Draft202012Validator

        self._validator_class = Draft202012Validator
        subset = yaml.safe_load((reference_dir / "openapi-payroll-subset.yaml").read_text(encoding="utf-8"))
        auth = json.loads((reference_dir / "openapi-auth.json").read_text(encoding="utf-8"))
        self._subset_root = {"components": {"schemas": _to_json_schema(subset["components"]["schemas"])}}
        self._auth_root = {"components": {"schemas": _to_json_schema(auth["components"]["schemas"])}}
        self._operations: list[tuple[str, re.Pattern[str], dict[str, Any]]] = []
        for template, item in subset["paths"].items():
            pattern = re.compile("/v2" + re.sub(r"\{[^}]+\}", "[^/]+", template), re.IGNORECASE)
            for method, operation in item.items():
                self._operations.append((method.upper(), pattern, operation["responses"]))
        self._token_responses = auth["paths"]["/Token"]["post"]["responses"]

    def validate(self, name: str, body: Any, *, auth: bool = False) -> list[str]:
        root = self._auth_root if auth else self._subset_root
        validator = self._validator_class({**root, "$ref": f"#/components/schemas/{name}"})
        return [
            f"{name}: {error.message} at {list(error.absolute_path)}" for error in validator.iter_errors(body)
        ]

    def check(self, method: str, path: str, status: int, content: bytes, content_type: str) -> list[str]:
        where = f"{method} {path} -> {status}"
        if path.lower().endswith("/oauth/token"):
            responses, auth = self._token_responses, True
        else:
            found = [r for m, p, r in self._operations if m == method and p.fullmatch(path)]
            if not found:
                return [f"{where}: no such operation in the reference spec"]
            responses, auth = found[0], False
        body: Any = None
        if content:
            if "json" not in content_type:
                return [f"{where}: body is not JSON ({content_type})"]
            body = json.loads(content)
        if auth and status == 401:
            # The API gateway's answer to a missing subscription key: outside the token operation itself.
            responses = {"default": {}}
            auth = False
        if status == 429:
            return [f"{where}: {e}" for e in self.validate("RateLimitResponseDto", body, auth=True)]
        documented = responses.get(str(status))
        if documented is None and "default" not in responses:
            return [f"{where}: status not documented"]
        schema_ref = ((documented or {}).get("content") or {}).get("application/json", {}).get("schema")
        if status == 204 or (documented is not None and schema_ref is None and status < 300):
            return [] if not content else [f"{where}: expected an empty body"]
        if status >= 400 and not auth:
            problems = self.validate("ProblemDetails", body)
            # The examples' form: lowercase keys, status matching the HTTP status.
            if not isinstance(body, dict) or body.get("status") != status or not body.get("title"):
                problems.append(f"{where}: ProblemDetails without lowercase title/status {body!r}")
            return [f"{where}: {p}" for p in problems]
        if schema_ref is None:
            return []
        if "$ref" in schema_ref:
            return [
                f"{where}: {e}" for e in self.validate(schema_ref["$ref"].rsplit("/", 1)[1], body, auth=auth)
            ]
        if schema_ref.get("type") == "array":
            item = schema_ref["items"]["$ref"].rsplit("/", 1)[1]
            if not isinstance(body, list):
                return [f"{where}: expected an array"]
            return [f"{where}: {e}" for element in body for e in self.validate(item, element)]
        return []


class SpecLog:
    """What the checking transports of one test saw: how many answers were checked, and the violations."""

    def __init__(self, checker: OpenApiChecker | None) -> None:
        self.checker = checker
        self.violations: list[str] = []
        self.checked = 0


class CheckingTransport(httpx.HTTPTransport):
    """A real HTTP transport that checks every answer against the reference spec into a SpecLog."""

    def __init__(self, log: SpecLog, base_path: str = "") -> None:
        super().__init__()
        self.log = log
        self.base_path = base_path

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if self.log.checker is not None and "/_control/" not in request.url.path:
            content = response.read()
            path = request.url.path[len(self.base_path) :]
            self.log.violations += self.log.checker.check(
                request.method, path, response.status_code, content, response.headers.get("content-type", "")
            )
            self.log.checked += 1
        return response


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def po_checker() -> OpenApiChecker | None:
    """The reference checker, or None when the shared reference pack is not on this machine."""
    if not (POWEROFFICE_REFERENCE / "openapi-payroll-subset.yaml").exists():
        return None
    return OpenApiChecker(POWEROFFICE_REFERENCE)


@pytest.fixture
def po_spec(po_checker: OpenApiChecker | None) -> OpenApiChecker:
    """For tests that are only about the spec: skipped without the reference pack."""
    if po_checker is None:
        pytest.skip(f"PowerOffice Go reference spec not found under {POWEROFFICE_REFERENCE} (set SHARED_DIR)")
    return po_checker


@pytest.fixture(scope="session")
def po_server() -> Iterator[tuple[str, PowerOfficeEmulator]]:
    app = create_app(load_data(), PO_APPLICATION_KEY, PO_SUBSCRIPTION_KEY)
    with serving(app) as base_url:
        yield base_url, app.state.emulator


@pytest.fixture
def po_emulator(po_server: tuple[str, PowerOfficeEmulator]) -> PowerOfficeEmulator:
    """The emulator, back at the demo data, with a generous rate limit and no cached tokens."""
    _, emulator = po_server
    emulator.reset()
    emulator.set_rate_limit(PO_TEST_RATE)
    TOKENS.clear()
    return emulator


@pytest.fixture
def po_base_url(po_server: tuple[str, PowerOfficeEmulator], po_emulator: PowerOfficeEmulator) -> str:
    return po_server[0]


@pytest.fixture
def po_spec_log(po_checker: OpenApiChecker | None) -> Iterator[SpecLog]:
    """Collects the checks of every emulator answer the test sees; the test fails on any violation."""
    log = SpecLog(po_checker)
    yield log
    assert not log.violations, "\n".join(log.violations)


@pytest.fixture
def po_http(po_base_url: str, po_spec_log: SpecLog) -> Iterator[httpx.Client]:
    """A raw HTTP client on the emulator (answers checked against the spec)."""
    with httpx.Client(base_url=po_base_url, transport=CheckingTransport(po_spec_log), timeout=10) as client:
        yield client


@pytest.fixture
def po_token(po_http: httpx.Client) -> Callable[[str], dict[str, str]]:
    """Headers for a raw API call as a client key: subscription key and a fresh bearer token."""

    def headers(client_key: str = PO_ACME) -> dict[str, str]:
        response = po_http.post(
            "/OAuth/Token",
            data={"grant_type": "client_credentials"},
            auth=(PO_APPLICATION_KEY, client_key),
            headers={"Ocp-Apim-Subscription-Key": PO_SUBSCRIPTION_KEY},
        )
        assert response.status_code == 200, response.text
        return {
            "Ocp-Apim-Subscription-Key": PO_SUBSCRIPTION_KEY,
            "Authorization": f"Bearer {response.json()['access_token']}",
        }

    return headers


@pytest.fixture
def po_make_client(po_base_url: str, po_spec_log: SpecLog) -> Iterator[Callable[..., PowerOfficeClient]]:
    """Factory of clients on the emulator; every answer they get is checked against the spec."""
    clients: list[PowerOfficeClient] = []

    def make(client_key: str = PO_ACME, **options: Any) -> PowerOfficeClient:
        options.setdefault("transport", CheckingTransport(po_spec_log))
        client = PowerOfficeClient(
            f"{po_base_url}/v2",
            f"{po_base_url}/OAuth/Token",
            options.pop("application_key", PO_APPLICATION_KEY),
            options.pop("subscription_key", PO_SUBSCRIPTION_KEY),
            client_key,
            **options,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
