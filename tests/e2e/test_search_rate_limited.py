"""A search never waits out PowerOffice Go's rate limit inside the API call (issue 24, sequence 5).

PowerOffice's limit is shared by every company; at month end it can stay spent for a minute. A search that
waited out 429s inside `POST /exports/preview` was cut by API Gateway at 29 s: a 504 and no word of why.
It answers 503 POWEROFFICE_BUSY with Retry-After within seconds instead, and the search after it works.
"""

from __future__ import annotations

import time

import httpx

from local.stack import LocalStack
from tests.support import OCTOBER, set_faults


def test_a_search_while_poweroffice_keeps_answering_429_says_busy_within_seconds(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    # About 40 s of 429s (each says Retry-After: 1) on every PowerOffice Go call.
    set_faults(fresh, [{"method": "*", "path": "/", "status": 429, "times": 40}])

    began = time.monotonic()
    busy = acme.post("/exports/preview", json=OCTOBER)
    took = time.monotonic() - began

    assert busy.status_code == 503, (busy.status_code, busy.text[:300])
    assert took < 10, f"the search held the call {took:.0f} s"
    assert busy.json()["code"] == "POWEROFFICE_BUSY"
    assert int(busy.headers["Retry-After"]) > 0

    set_faults(fresh, [])
    again = acme.post("/exports/preview", json=OCTOBER)
    assert again.status_code == 200, again.text[:300]
    assert again.json()["lines"]


def test_a_search_while_poweroffice_does_not_answer_says_so_within_the_call(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    # PowerOffice Go answers its pay items 12 s late (its client's timeout was 10 s, tried 5 times).
    set_faults(fresh, [{"method": "GET", "path": "/PayItems", "status": None, "delay_s": 12, "times": 10}])

    began = time.monotonic()
    answer = acme.post("/exports/preview", json=OCTOBER)
    took = time.monotonic() - began

    assert answer.status_code == 502, (answer.status_code, answer.text[:300])
    assert answer.json()["code"] == "POWEROFFICE_UNAVAILABLE"
    assert took < 20, f"the search held the call {took:.0f} s"
