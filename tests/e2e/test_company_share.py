"""Each company's share of the API: one company past its limit gets 429, another is answered as before."""

from __future__ import annotations

import httpx
import pytest


def test_a_company_past_its_share_gets_429_and_another_company_is_still_answered(
    acme_admin: httpx.Client, beta_admin: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stage's throttling is one budget for every company (API Gateway); a company's own limit is counted
    in the API functions, so 20 open tabs of one company polling cannot answer 429 to all the others."""
    monkeypatch.setenv("TENANT_REQUESTS_PER_SECOND", "1")  # 10 requests per 10 s window
    # 21 requests within two windows at most: one of them holds 11 or more, so at least one is refused.
    answers = [acme_admin.get("/integrations/poweroffice") for _ in range(21)]
    statuses = [answer.status_code for answer in answers]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert set(statuses) == {200, 429} and statuses.count(200) <= 20, statuses
    body = refused[0].json()
    assert body["code"] == "THROTTLED" and body["params"]["limit"] == 10
    assert 1 <= int(refused[0].headers["Retry-After"]) <= 10
    assert beta_admin.get("/integrations/poweroffice").status_code == 200
