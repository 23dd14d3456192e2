"""`abax-payroll local serve --abax-url … --abax-token-url …`: the service reads another ABAX, the rest stays local.

The "other ABAX" here is a second emulator on a port of its own with an organisation the built-in one does
not have (as ABAX's sandbox or any conforming server would be); PowerOffice Go stays the local emulator.
"""

from __future__ import annotations

import contextlib
import copy
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.auth import mint_token
from local.emulators.abax import create_app
from local.servers import free_port, serving, wait_for_health
from local.stack import demo_data
from tests.support import ACME_KEY, ALL_CODES, OCTOBER

REPO = Path(__file__).resolve().parents[2]
ELSEWHERE = ("elsewhere-abax-client-81d2", "elsewhere-abax-secret-3f0a")


def _elsewhere_data() -> dict:
    """One organisation whose October trips are acme's demo trips under another driver name."""
    acme = next(o for o in demo_data("abax.json")["organizations"] if o["tenant_id"] == "acme")
    trips = []
    for trip in copy.deepcopy(acme["trips"]):
        if trip["driver"].get("external_id") == "1001":
            trip["driver"]["name"] = "Elsewhere Sjåfør"
            trips.append(trip)
    return {
        "organizations": [
            {
                "tenant_id": "elsewhere",
                "client_id": ELSEWHERE[0],
                "client_secret": ELSEWHERE[1],
                "trips": trips,
                "expenses": [],
            }
        ]
    }


@contextlib.contextmanager
def _local(*arguments: str) -> Iterator[str]:
    """`abax-payroll local <arguments> --port P` in a process of its own, once it answers /health."""
    port = free_port()
    command = [sys.executable, "-m", "local.cli", "local", *arguments, "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=REPO, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process, timeout=120)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def served_elsewhere() -> Iterator[tuple[str, str, object]]:
    other = create_app(_elsewhere_data())
    with (
        serving(other) as abax_url,
        _local("serve", "--abax-url", abax_url, "--abax-token-url", f"{abax_url}/connect/token") as url,
    ):
        yield url, abax_url, other.state.emulator


def test_serve_reads_trips_from_the_abax_it_is_pointed_at(served_elsewhere) -> None:
    url, _, elsewhere = served_elsewhere
    headers = {"Authorization": f"Bearer {mint_token('acme', 'admin')}"}
    with httpx.Client(base_url=f"{url}/v1", headers=headers, timeout=60) as acme:
        assert (
            acme.post("/integrations/poweroffice/activate", json={"client_key": ACME_KEY}).status_code == 200
        )
        # The built-in emulator's acme API client means nothing to the other ABAX ...
        refused = acme.post(
            "/integrations/abax/activate",
            json={"client_id": "acme-abax-client-4e7d", "client_secret": "acme-abax-secret-local-91f0c3"},
        )
        assert refused.status_code == 400, refused.text
        # ... the organisation's own client there is verified there.
        connected = acme.post(
            "/integrations/abax/activate", json={"client_id": ELSEWHERE[0], "client_secret": ELSEWHERE[1]}
        )
        assert connected.status_code == 200, connected.text
        assert acme.put("/payroll-codes", json={"codes": ALL_CODES}).status_code == 200
        answer = acme.post("/exports/preview", json=OCTOBER)
        assert answer.status_code in (200, 202), answer.text
        body = answer.json()
        if answer.status_code == 202:  # a search that goes on in the background: poll its preview
            location = answer.headers.get("Location") or f"/exports/previews/{body['preview_id']}"
            deadline = time.monotonic() + 60
            while answer.status_code == 202 and time.monotonic() < deadline:
                time.sleep(0.5)
                answer = acme.get(location.removeprefix("/v1"))
            body = answer.json()
    drivers = {logbook["driver"]["name"] for logbook in body["logbooks"]}
    assert drivers == {"Elsewhere Sjåfør"}
    assert any(entry["path"] == "/v1/trips" for entry in elsewhere.request_log)  # type: ignore[attr-defined]


def test_serve_against_both_emulators_in_a_process_of_their_own() -> None:
    """`abax-payroll local emulators` serves PowerOffice Go and ABAX apart from the product (as the real
    services run elsewhere; the month-end benchmark runs them so); `serve` pointed at it reads and writes there."""
    with _local("emulators") as emulators:
        base = f"{emulators}/emulators"
        pointed = (
            "--poweroffice-url", f"{base}/poweroffice/v2", "--poweroffice-token-url", f"{base}/poweroffice/OAuth/Token",
            "--abax-url", f"{base}/abax", "--abax-token-url", f"{base}/abax/connect/token",
        )  # fmt: skip
        with _local("serve", *pointed) as url:
            headers = {"Authorization": f"Bearer {mint_token('acme', 'admin')}"}
            with httpx.Client(base_url=f"{url}/v1", headers=headers, timeout=60) as acme:
                activated = acme.post("/integrations/poweroffice/activate", json={"client_key": ACME_KEY})
                assert activated.status_code == 200, activated.text
                connected = acme.post(
                    "/integrations/abax/activate",
                    json={
                        "client_id": "acme-abax-client-4e7d",
                        "client_secret": "acme-abax-secret-local-91f0c3",
                    },
                )
                assert connected.status_code == 200, connected.text
        # The requests arrived at the emulators' process, not at an emulator inside `serve`.
        poweroffice = httpx.get(f"{base}/poweroffice/_control/requests", timeout=10).json()["requests"]
        assert any(r["path"] == "/OAuth/Token" and r["status"] == 200 for r in poweroffice), poweroffice
        assert any(r["path"].startswith("/v2/") for r in poweroffice), poweroffice
        abax = httpx.get(f"{base}/abax/_control/requests", timeout=10).json()["requests"]
        assert any(entry["path"] == "/v1/trips" for entry in abax), abax
