"""schemathesis against the API's own OpenAPI document, served by the local stack, over real HTTP.

Every operation of the document, schema-valid (positive) and schema-violating (negative) requests,
25 examples each, derandomized: no 5xx, every status code, content type and body as documented,
valid data accepted and invalid data refused. The caller is the admin of a fresh acme company with
the integration active and every category mapped, so that preview and export reach ABAX and
PowerOffice Go (the emulators) instead of stopping at INTEGRATION_INACTIVE.

Only one setting differs from schemathesis's defaults: a schema-valid request may also be answered
400. The document says so (INVALID_PERIOD, CLIENT_KEY_REJECTED, a next_token we never gave out):
a JSON schema cannot say that `from` must not come after `to`, that 2026-02-30 is no date, or which
client keys PowerOffice Go knows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from local.auth import mint_token
from local.stack import LocalStack
from tests.support import activate, api_client, map_codes, set_faults, wait_until_idle

TENANT = "acme"
MAX_EXAMPLES = 25
DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
PATHS = json.loads(DOCUMENT.read_text())["paths"]
OPERATIONS = sorted((method.upper(), path) for path, operations in PATHS.items() for method in operations)
# Negative requests need something to break: a parameter or a body (the Authorization header is ours).
CASES = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode.value}")
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE
    or PATHS[path][method.lower()].get("parameters")
    or PATHS[path][method.lower()].get("requestBody")
]
# schemathesis's default for positive_data_acceptance, plus 400 (see the module's docstring).
ACCEPTED = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]


@pytest.fixture(scope="module")
def api_schema(stack: LocalStack) -> Iterator[schemathesis.BaseSchema]:
    token = mint_token(TENANT, "admin", expires_in=4 * 3600)
    config = schemathesis.Config.from_dict(
        {
            "base-url": f"{stack.url}/v1",
            "headers": {"Authorization": f"Bearer {token}"},
            "request-timeout": 60,
            # The token is ours to send: do not generate (or leave out) the Authorization header.
            "generation": {"with-security-parameters": False},
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
        }
    )
    yield schemathesis.openapi.from_url(f"{stack.url}/v1/openapi.json", config=config)
    set_faults(stack, [])
    stack.load_demo()


@pytest.fixture
def active_acme(stack: LocalStack) -> Iterator[None]:
    """A fresh acme, integration active and codes mapped, for each operation (tests of other modules
    may run in between on this process's stack)."""
    stack.reset()
    with api_client(stack, TENANT, "admin") as client:
        activate(client)
        map_codes(client)
    yield
    wait_until_idle(stack, tenants=(TENANT,))  # exports schemathesis started end before the next module


def test_the_served_document_is_the_committed_one(stack: LocalStack) -> None:
    served = httpx.get(f"{stack.url}/v1/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == json.loads(DOCUMENT.read_text())


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_every_answer_matches_the_document(
    api_schema: schemathesis.BaseSchema, active_acme: None, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate()

    run()
