"""Activating and switching off the PowerOffice Go integration (SPEC 2.1, section 4)."""

from __future__ import annotations

import boto3
import httpx
import pytest

from local.aws import PLATFORM_SECRETS, REGION
from local.stack import LocalStack
from tests.support import (
    ACME_KEY,
    DELTA_NO_PRIVILEGE_KEY,
    GAMMA_NO_PAYROLL_KEY,
    OCTOBER,
    activate,
    good_logbooks,
    map_codes,
)


def _status(client: httpx.Client) -> dict:
    response = client.get("/integrations/poweroffice")
    assert response.status_code == 200, response.text
    return response.json()


def _stored_secrets() -> list[str]:
    """The tenants' PowerOffice Go keys (the platform's own PowerOffice keys are always there; each company's
    ABAX API client is connected apart, tests/e2e/test_abax_integration.py)."""
    secrets = boto3.client("secretsmanager", region_name=REGION)
    return [
        secret["Name"]
        for page in secrets.get_paginator("list_secrets").paginate()
        for secret in page["SecretList"]
        if secret["Name"] not in PLATFORM_SECRETS
        and not secret["Name"].startswith("abax-payroll/abax-clients/")
    ]


def test_a_new_company_starts_inactive(acme_admin: httpx.Client) -> None:
    assert _status(acme_admin)["status"] == "inactive"


def test_good_key_activates_and_shows_the_client_name_never_the_key(acme_admin: httpx.Client) -> None:
    response = acme_admin.post("/integrations/poweroffice/activate", json={"client_key": ACME_KEY})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "active"
    assert body["client_name"] == "Acme Transport AS"
    assert body["activated_at"]
    assert body["activated_by"] == "admin@acme.example"
    status = acme_admin.get("/integrations/poweroffice")
    assert status.json()["status"] == "active"
    assert status.json()["client_name"] == "Acme Transport AS"
    assert ACME_KEY not in status.text and ACME_KEY not in response.text


def test_unknown_key_is_rejected_and_nothing_is_stored(acme_admin: httpx.Client) -> None:
    response = acme_admin.post(
        "/integrations/poweroffice/activate", json={"client_key": "not-a-real-key-0000"}
    )

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "CLIENT_KEY_REJECTED"
    assert body["status"] == 400
    assert "client key" in body["detail"].lower()
    assert _status(acme_admin)["status"] == "inactive"
    assert _stored_secrets() == []


def test_client_without_the_payroll_module_is_refused_with_the_reason(acme_admin: httpx.Client) -> None:
    response = acme_admin.post(
        "/integrations/poweroffice/activate", json={"client_key": GAMMA_NO_PAYROLL_KEY}
    )

    assert response.status_code == 403, response.text
    body = response.json()
    assert body["code"] == "POWEROFFICE_PRIVILEGES_MISSING"
    assert "payroll" in body["detail"].lower()
    assert _status(acme_admin)["status"] == "inactive"
    assert _stored_secrets() == []


def test_integration_without_the_salary_line_privilege_is_refused_naming_it(acme_admin: httpx.Client) -> None:
    response = acme_admin.post(
        "/integrations/poweroffice/activate", json={"client_key": DELTA_NO_PRIVILEGE_KEY}
    )

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "POWEROFFICE_PRIVILEGES_MISSING"
    assert "SalaryLine_Full" in response.json()["detail"]
    assert _status(acme_admin)["status"] == "inactive"


def test_a_failed_activation_leaves_an_active_integration_as_it_was(acme_admin: httpx.Client) -> None:
    activate(acme_admin)
    response = acme_admin.post("/integrations/poweroffice/activate", json={"client_key": "wrong-key"})

    assert response.status_code == 400
    assert _status(acme_admin)["status"] == "active"
    assert _status(acme_admin)["client_name"] == "Acme Transport AS"


def test_deactivate_forgets_the_key_and_exports_are_refused_until_activated_again(
    acme_admin: httpx.Client,
) -> None:
    activate(acme_admin)
    map_codes(acme_admin)
    logbooks = good_logbooks(acme_admin)

    response = acme_admin.post("/integrations/poweroffice/deactivate")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "inactive"
    assert _status(acme_admin) == {
        "status": "inactive",
        "client_name": None,
        "activated_at": None,
        "activated_by": None,
    }
    assert _stored_secrets() == []

    refused = acme_admin.post("/exports", json={**OCTOBER, "logbook_ids": logbooks})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "INTEGRATION_INACTIVE"
    assert "activate" in refused.json()["detail"].lower()
    assert acme_admin.get("/exports").json()["exports"] == []

    again = activate(acme_admin)
    assert again["status"] == "active"
    assert (
        acme_admin.post("/exports/preview", json={**OCTOBER, "logbook_ids": logbooks}).json()["ready"] is True
    )


def test_payroll_role_cannot_activate_or_deactivate(fresh: LocalStack, acme_payroll: httpx.Client) -> None:
    response = acme_payroll.post("/integrations/poweroffice/activate", json={"client_key": ACME_KEY})
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "FORBIDDEN"
    assert _status(acme_payroll)["status"] == "inactive"
    assert _stored_secrets() == []

    assert acme_payroll.post("/integrations/poweroffice/deactivate").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "client_key"),
        ({"client_key": ""}, "client_key"),
        ({"client_key": "   "}, "client_key"),
        ({"client_key": ACME_KEY, "extra": 1}, "extra"),
    ],
)
def test_activation_request_without_a_usable_key_is_refused(
    acme_admin: httpx.Client, body: dict, field: str
) -> None:
    response = acme_admin.post("/integrations/poweroffice/activate", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "INVALID_REQUEST"
    assert field in response.json()["detail"]
    assert _status(acme_admin)["status"] == "inactive"
