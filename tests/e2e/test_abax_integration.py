"""ABAX per company: the admin connects the organisation's own API client; verified, stored encrypted, never shown.

ABAX issues a client id and secret per customer organisation: there is no platform-wide ABAX secret and the
client id is not the tenant id. Connecting is verified with a token and a trips call; on failure nothing is
stored; disconnecting forgets the pair; while an export runs, neither is allowed.
"""

from __future__ import annotations

import boto3
import httpx
import pytest

from local.stack import LocalStack
from tests.support import (
    ACME_KEY,
    OCTOBER,
    abax_credentials,
    activate,
    api_client,
    connect_abax,
    good_logbooks,
    map_codes,
    preview,
    set_faults,
    start_export,
    wait_for_export,
)

SECRET_NAME = "abax-payroll/abax-clients/acme"


def _secret_exists() -> bool:
    names = [
        s["Name"]
        for page in boto3.client("secretsmanager").get_paginator("list_secrets").paginate()
        for s in page["SecretList"]
    ]
    return SECRET_NAME in names


def test_abax_starts_disconnected_and_a_search_says_so(acme_admin: httpx.Client) -> None:
    assert acme_admin.get("/integrations/abax").json() == {
        "status": "inactive",
        "activated_at": None,
        "activated_by": None,
    }
    activate(acme_admin, abax=False)
    map_codes(acme_admin)
    answer = acme_admin.post("/exports/preview", json=OCTOBER)
    assert answer.status_code == 409 and answer.json()["code"] == "ABAX_INACTIVE", answer.text
    assert "ABAX" in answer.json()["detail"]
    # Starting an export is refused as well, before anything starts.
    answer = acme_admin.post("/exports", json=OCTOBER)
    assert answer.status_code == 409 and answer.json()["code"] == "ABAX_INACTIVE", answer.text
    assert acme_admin.get("/exports").json()["exports"] == []
    # Once connected, the same period is read afresh: the refused search left nothing to poll.
    connect_abax(acme_admin)
    answer = acme_admin.post("/exports/preview", json=OCTOBER)
    assert answer.status_code == 200 and answer.json()["logbooks"], answer.text


def test_connecting_verifies_the_pair_with_abax_and_stores_it_encrypted_never_shown(
    acme_admin: httpx.Client,
) -> None:
    client_id, client_secret = abax_credentials("acme")
    status = connect_abax(acme_admin, client_id, client_secret)
    assert status["status"] == "active" and status["activated_by"] == "admin@acme.example"
    shown = acme_admin.get("/integrations/abax")
    assert shown.json()["status"] == "active"
    assert client_secret not in shown.text and client_id not in shown.text
    assert _secret_exists()
    activate(acme_admin, abax=False)
    map_codes(acme_admin)
    assert preview(acme_admin)["logbooks"], "the company's own trips are read with its own API client"


@pytest.mark.parametrize(
    "pair",
    [
        pytest.param(("acme", "acme"), id="tenant-id-as-client-id"),
        pytest.param(None, id="wrong-secret"),
        pytest.param(("beta-abax-client-2a9b", "acme-abax-secret-local-91f0c3"), id="anothers-client-id"),
    ],
)
def test_a_pair_abax_refuses_is_a_400_and_nothing_is_stored(
    acme_admin: httpx.Client, pair: tuple[str, str] | None
) -> None:
    client_id, client_secret = pair or (abax_credentials("acme")[0], "not-the-secret")
    answer = acme_admin.post(
        "/integrations/abax/activate", json={"client_id": client_id, "client_secret": client_secret}
    )
    assert answer.status_code == 400 and answer.json()["code"] == "ABAX_CREDENTIALS_REJECTED", answer.text
    assert client_secret not in answer.text
    assert acme_admin.get("/integrations/abax").json()["status"] == "inactive"
    assert not _secret_exists()


def test_a_company_reads_only_its_own_organisation(
    fresh: LocalStack, acme_admin: httpx.Client, beta_admin: httpx.Client
) -> None:
    """Beta connected with acme's API client would read acme's trips: the pair decides, never the tenant id."""
    for client in (acme_admin, beta_admin):
        activate(client)
        map_codes(client)
    acme_drivers = {lb["driver"]["name"] for lb in preview(acme_admin)["logbooks"]}
    beta_drivers = {lb["driver"]["name"] for lb in preview(beta_admin)["logbooks"]}
    assert acme_drivers and beta_drivers and not acme_drivers & beta_drivers


def test_abax_down_while_connecting_is_a_502_and_nothing_is_stored(
    fresh: LocalStack, acme_admin: httpx.Client
) -> None:
    rule = {"method": "GET", "path": "/v1/trips", "nth": 1, "times": 100, "status": 503}
    assert (
        httpx.post(
            f"{fresh.url}/emulators/abax/_control/faults", json={"rules": [rule]}, timeout=10
        ).status_code
        == 200
    )
    client_id, client_secret = abax_credentials("acme")
    answer = acme_admin.post(
        "/integrations/abax/activate", json={"client_id": client_id, "client_secret": client_secret}
    )
    httpx.post(f"{fresh.url}/emulators/abax/_control/faults", json={"rules": []}, timeout=10)
    assert answer.status_code == 502 and answer.json()["code"] == "ABAX_UNAVAILABLE", answer.text
    assert not _secret_exists()


def test_disconnecting_forgets_the_pair(acme: httpx.Client) -> None:
    assert _secret_exists()
    assert preview(acme)["logbooks"]  # a snapshot of the period, fresh enough to be reused...
    assert acme.post("/integrations/abax/deactivate").json() == {"status": "inactive"}
    assert not _secret_exists()
    assert (
        acme.post("/exports/preview", json=OCTOBER).json()["code"] == "ABAX_INACTIVE"
    )  # ...but not once disconnected


def test_only_an_admin_connects_or_disconnects(fresh: LocalStack, acme: httpx.Client) -> None:
    client_id, client_secret = abax_credentials("acme")
    with api_client(fresh, "acme", "payroll") as payroll:
        assert payroll.get("/integrations/abax").json()["status"] == "active"
        body = {"client_id": client_id, "client_secret": client_secret}
        assert payroll.post("/integrations/abax/activate", json=body).status_code == 403
        assert payroll.post("/integrations/abax/deactivate").status_code == 403


def test_connecting_or_disconnecting_abax_waits_for_a_running_export(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    set_faults(
        fresh,
        [{"method": "POST", "path": "/SalaryLines", "nth": 1, "times": 1, "status": None, "delay_s": 2.0}],
    )
    export_id = start_export(acme, OCTOBER, good_logbooks(acme))
    client_id, client_secret = abax_credentials("beta")
    for answer in (
        acme.post(
            "/integrations/abax/activate", json={"client_id": client_id, "client_secret": client_secret}
        ),
        acme.post("/integrations/abax/deactivate"),
    ):
        assert answer.status_code == 409 and answer.json()["code"] == "EXPORT_IN_PROGRESS", answer.text
    assert wait_for_export(acme, export_id)["status"] == "COMPLETED"
    assert connect_abax(acme)["status"] == "active"  # once it has ended
    assert acme.post("/integrations/poweroffice/activate", json={"client_key": ACME_KEY}).status_code == 200
