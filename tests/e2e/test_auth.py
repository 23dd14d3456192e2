"""Who may call what: tokens, roles and tenants (SPEC section 4)."""

from __future__ import annotations

import httpx
import pytest

from local.stack import LocalStack
from tests.support import (
    ACME_KEY,
    ALL_CODES,
    anonymous_client,
    api_client,
    connect_abax,
    export_and_wait,
    good_logbooks,
)

PATHS = [
    ("GET", "/integrations/poweroffice"),
    ("GET", "/exports"),
    ("POST", "/exports/preview"),
    ("GET", "/payroll-codes"),
]


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_no_token_is_401(fresh: LocalStack, method: str, path: str) -> None:
    with anonymous_client(fresh) as client:
        response = client.request(
            method, path, json={"from": "2026-10-01", "to": "2026-10-31"} if method == "POST" else None
        )
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "UNAUTHORIZED"


def test_expired_token_is_401_and_says_so(fresh: LocalStack) -> None:
    with api_client(fresh, "acme", "admin", expires_in=-60) as client:
        response = client.get("/integrations/poweroffice")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_token_with_a_bad_signature_is_401(fresh: LocalStack) -> None:
    with api_client(fresh, "acme", "admin") as client:
        token = client.headers["Authorization"]
        client.headers["Authorization"] = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        response = client.get("/integrations/poweroffice")
    assert response.status_code == 401


def test_token_without_a_tenant_is_refused(fresh: LocalStack) -> None:
    with api_client(fresh, None, "admin") as client:
        response = client.get("/exports")
    assert response.status_code == 403
    assert "tenant" in response.json()["detail"]


def test_the_tenant_comes_from_the_token_not_the_request(
    acme_admin: httpx.Client, beta_admin: httpx.Client
) -> None:
    smuggled = beta_admin.post(
        "/integrations/poweroffice/activate", json={"client_key": ACME_KEY}, params={"tenant_id": "acme"}
    )
    assert smuggled.status_code == 422 and "tenant_id" in smuggled.json()["detail"]  # not a parameter of ours
    response = beta_admin.post(
        "/integrations/poweroffice/activate", json={"client_key": ACME_KEY}, headers={"X-Tenant-Id": "acme"}
    )
    assert response.status_code == 200
    assert acme_admin.get("/integrations/poweroffice").json()["status"] == "inactive"
    assert beta_admin.get("/integrations/poweroffice").json()["status"] == "active"


def test_payroll_role_can_preview_and_export(acme_admin: httpx.Client, acme_payroll: httpx.Client) -> None:
    acme_admin.post("/integrations/poweroffice/activate", json={"client_key": ACME_KEY}).raise_for_status()
    connect_abax(acme_admin)
    # payroll maps the codes itself: configuration is payroll's job (README › Roles; the web app's "Oppsett")
    assert acme_payroll.put("/payroll-codes", json={"codes": ALL_CODES}).status_code == 200
    rates = [
        {key: rate[key] for key in ("category", "valid_from", "valid_to", "rate") if key in rate}
        for rate in acme_payroll.get("/rates").json()["rates"]
    ]
    assert acme_payroll.put("/rates", json={"rates": rates}).status_code == 200
    schedule = acme_payroll.put("/schedule", json={"enabled": True, "day_of_month": 5})
    assert schedule.status_code == 200, schedule.text
    # ... and only an administrator switches an integration on or off
    assert acme_payroll.post("/integrations/poweroffice/deactivate").json()["code"] == "FORBIDDEN"
    logbooks = good_logbooks(acme_payroll)
    assert acme_payroll.post(
        "/exports/preview", json={"from": "2026-10-01", "to": "2026-10-31", "logbook_ids": logbooks}
    ).json()["ready"]

    record = export_and_wait(acme_payroll, logbook_ids=logbooks)

    assert record["status"] == "COMPLETED", record
    assert record["created_by"] == "payroll@acme.example"


def test_one_tenant_cannot_see_another_tenants_exports(acme: httpx.Client, beta_admin: httpx.Client) -> None:
    record = export_and_wait(acme, logbook_ids=good_logbooks(acme))
    assert record["status"] == "COMPLETED"
    assert [e["export_id"] for e in acme.get("/exports").json()["exports"]] == [record["export_id"]]

    assert beta_admin.get("/exports").json()["exports"] == []
    response = beta_admin.get(f"/exports/{record['export_id']}")
    assert response.status_code == 404, response.text
    assert record["export_id"] not in response.text or response.json()["code"] == "NOT_FOUND"
    assert "Ola Nordmann" not in response.text
    # nor its configuration
    assert beta_admin.get("/integrations/poweroffice").json()["status"] == "inactive"
