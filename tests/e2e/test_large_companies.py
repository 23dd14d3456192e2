"""Month end for any company size (issue 16): ABAX read across invocations, searches that answer 202.

A company of thousands of drivers is the demo company read with tiny ABAX pages and a cap on the calls one
invocation makes: the same reading, split into many pieces, exactly as a 300,000-trip month is split by
the Fetch step's 10-minute budget in AWS.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest

from abax_payroll.workflow.services import reset_services
from local.aws import REGION
from local.stack import LocalStack
from tests.support import OCTOBER, export_and_wait, good_logbooks, preview

TINY_PAGES = {"ABAX_PAGE_SIZE": "4", "FETCH_CALLS_PER_INVOCATION": "3"}


@pytest.fixture
def environment() -> Iterator[Callable[[dict[str, str]], None]]:
    """Set the handlers' environment (read once, as at a Lambda cold start), restored afterwards."""
    saved: dict[str, str | None] = {}

    def set_environment(values: dict[str, str]) -> None:
        for name, value in values.items():
            saved.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        reset_services()

    yield set_environment
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_services()


def _abax_requests(stack: LocalStack, path: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{stack.url}/emulators/abax/_control/requests", timeout=10)
    assert response.status_code == 200, response.text
    return [request for request in response.json()["requests"] if request["path"] == path]


def _lines(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (line["employee_number"], line["pay_item_code"], line["quantity"], line["rate"], line["amount"])
        for line in body["lines"]
    )


def _fetch_invocations(execution_arn: str) -> int:
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    events = stepfunctions.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return sum(
        1
        for event in events
        if event.get("stateEnteredEventDetails", {}).get("name") in ("Fetch", "SearchFetch")
    )


def test_an_export_reads_abax_over_several_invocations_and_pushes_what_it_read(
    fresh: LocalStack, acme: httpx.Client, environment: Callable[[dict[str, str]], None]
) -> None:
    logbooks = good_logbooks(acme)
    expected = _lines(preview(acme, OCTOBER, logbooks))  # read in one piece, with ABAX's full pages
    environment(TINY_PAGES)
    before = len(_abax_requests(fresh, "/v1/trips"))

    record = export_and_wait(acme, OCTOBER, logbooks)

    assert record["status"] == "COMPLETED", record
    assert _lines(record) == expected
    pages = _abax_requests(fresh, "/v1/trips")[before:]
    assert len(pages) >= 6 and all(page["query"]["page_size"] == "4" for page in pages)
    # Each piece makes at most 3 calls: several invocations, and every page read once.
    assert _fetch_invocations(record["execution_arn"]) >= 3
    assert len({(page["query"]["date_from"], page["query"]["page"]) for page in pages}) == len(pages)


def test_a_failed_abax_page_is_read_again_and_not_the_pages_before_it(
    fresh: LocalStack, acme: httpx.Client, environment: Callable[[dict[str, str]], None]
) -> None:
    logbooks = good_logbooks(acme)
    expected = _lines(preview(acme, OCTOBER, logbooks))
    environment(TINY_PAGES)
    before = len(_abax_requests(fresh, "/v1/trips"))
    # The 4th trips page fails at every attempt one invocation makes, then ABAX answers again.
    rule = {"method": "GET", "path": "/v1/trips", "nth": 4, "times": 5, "status": 503}
    assert (
        httpx.post(
            f"{fresh.url}/emulators/abax/_control/faults", json={"rules": [rule]}, timeout=10
        ).status_code
        == 200
    )

    record = export_and_wait(acme, OCTOBER, logbooks)

    assert record["status"] == "COMPLETED", record
    assert _lines(record) == expected
    asked = [int(page["query"]["page"]) for page in _abax_requests(fresh, "/v1/trips")[before:]]
    assert asked[:3] == [1, 2, 3] and asked.count(4) >= 2  # the failed page again ...
    assert asked.count(1) == asked.count(2) == asked.count(3) == 1  # ... and not the month from its start


def test_a_search_that_cannot_finish_in_the_call_answers_202_and_completes(
    fresh: LocalStack, acme: httpx.Client, environment: Callable[[dict[str, str]], None]
) -> None:
    # No time for ABAX inside the call: everything is read by the state machine, in pieces of 3 calls.
    environment({**TINY_PAGES, "PREVIEW_INLINE_SECONDS": "0"})

    started = acme.post("/exports/preview", json=OCTOBER)

    assert started.status_code == 202, started.text
    resource = started.json()
    assert resource["status"] == "RUNNING" and resource["progress"]["phase"] == "reading_trips"
    assert started.headers["Location"] == f"/v1/exports/previews/{resource['preview_id']}"
    seen: list[int] = []
    deadline = time.monotonic() + 120
    while True:
        polled = acme.get(f"/exports/previews/{resource['preview_id']}")
        assert polled.status_code == 200, polled.text
        body = polled.json()
        seen.append(body["progress"]["trips_read"])
        if body["status"] != "RUNNING":
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.2)
    assert body["status"] == "READY", body
    assert seen == sorted(seen)  # progress only goes forward
    assert body["progress"]["trips_read"] == body["progress"]["trips_expected"] > 0
    assert _fetch_invocations(_search_execution(resource["preview_id"])) >= 2

    # A second search of the period reads nothing from ABAX again ...
    environment({"PREVIEW_INLINE_SECONDS": "15", "ABAX_PAGE_SIZE": "1500"})
    reads = len(_abax_requests(fresh, "/v1/trips")) + len(_abax_requests(fresh, "/v1/trips/expense"))
    again = acme.post("/exports/preview", json=OCTOBER)
    assert again.status_code == 200, again.text
    assert again.json()["preview_id"] == resource["preview_id"]
    assert _lines(again.json()) == _lines(body) and again.json()["problems"] == body["problems"]
    assert len(_abax_requests(fresh, "/v1/trips")) + len(_abax_requests(fresh, "/v1/trips/expense")) == reads
    # ... and what was read in pieces is what a search reading the period afresh, in one call, finds.
    environment({"PREVIEW_FRESH_SECONDS": "0"})
    afresh = preview(acme, OCTOBER)
    assert afresh["preview_id"] != resource["preview_id"]
    assert _lines(afresh) == _lines(body) and afresh["problems"] == body["problems"] and _lines(body)


def _search_execution(preview_id: str) -> str:
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    machine = stepfunctions.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    return machine.replace(":stateMachine:", ":execution:") + f":search-{preview_id}"


def test_the_local_gateway_answers_504_after_29_s_as_api_gateway_does(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    # ABAX answers slowly and the gateway's limit is shortened from 29 s to 1 s, so the run takes seconds.
    delay = {"method": "GET", "path": "/v1/trips", "nth": 1, "times": 1, "delay_s": 3}
    assert (
        httpx.post(
            f"{fresh.url}/emulators/abax/_control/faults", json={"rules": [delay]}, timeout=10
        ).status_code
        == 200
    )
    fresh.gateway_timeout_s = 1.0
    try:
        cut = acme.post("/exports/preview", json=OCTOBER)
    finally:
        fresh.gateway_timeout_s = 29.0
    assert cut.status_code == 504, cut.text
    assert cut.headers["content-type"].startswith("application/problem+json")
    assert cut.json()["code"] == "GATEWAY_ERROR"
    # The function ran on (as in AWS): the search it started is found by the next one, and completes.
    deadline = time.monotonic() + 60
    while True:
        again = acme.post("/exports/preview", json=OCTOBER)
        assert again.status_code in (200, 202), again.text
        if again.status_code == 200:
            break
        assert time.monotonic() < deadline, again.text
        time.sleep(0.5)
    assert again.json()["ready"] is False and again.json()["logbooks"]


def test_a_fetch_cut_at_the_function_timeout_is_retried_and_the_export_completes(
    fresh: LocalStack, acme: httpx.Client, environment: Callable[[dict[str, str]], None]
) -> None:
    from local import lambda_runtime

    logbooks = good_logbooks(acme)
    expected = _lines(preview(acme, OCTOBER, logbooks))
    environment(TINY_PAGES)
    # One ABAX page answers after 8 s; the steps function is given 4 s instead of Lambda's 15 minutes.
    delay = {"method": "GET", "path": "/v1/trips", "nth": 2, "times": 1, "delay_s": 8}
    assert (
        httpx.post(
            f"{fresh.url}/emulators/abax/_control/faults", json={"rules": [delay]}, timeout=10
        ).status_code
        == 200
    )
    previous = lambda_runtime.set_timeout("abax-payroll-export-steps", 4.0)
    try:
        record = export_and_wait(acme, OCTOBER, logbooks)
    finally:
        lambda_runtime.set_timeout("abax-payroll-export-steps", previous)
        time.sleep(5)  # the abandoned invocation's call ends before the next test

    assert record["status"] == "COMPLETED", record
    assert _lines(record) == expected
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    events = stepfunctions.get_execution_history(executionArn=record["execution_arn"], maxResults=1000)[
        "events"
    ]
    errors = [
        event["lambdaFunctionFailedEventDetails"]["error"]
        for event in events
        if "lambdaFunctionFailedEventDetails" in event
    ]
    assert errors and set(errors) == {
        "Sandbox.Timedout"
    }  # cut (once, or again on a slow machine) and retried


def test_a_fetch_of_more_calls_than_abax_allows_a_minute_is_paced_and_meets_no_429(
    fresh: LocalStack, acme: httpx.Client, environment: Callable[[dict[str, str]], None]
) -> None:
    logbooks = good_logbooks(acme)
    expected = _lines(preview(acme, OCTOBER, logbooks))
    # ABAX's 60 requests per 60 s, scaled down so the test takes seconds: 4 requests per 2 s, in the emulator
    # and in the service's setting alike.
    environment({**TINY_PAGES, "ABAX_REQUESTS_PER_WINDOW": "4", "ABAX_RATE_WINDOW_S": "2"})
    fresh.abax.set_rate_limit(4, 2.0)
    before = len(_abax_requests(fresh, "/v1/trips")) + len(_abax_requests(fresh, "/v1/trips/expense"))

    record = export_and_wait(acme, OCTOBER, logbooks)

    assert record["status"] == "COMPLETED", record
    assert _lines(record) == expected
    calls = len(_abax_requests(fresh, "/v1/trips")) + len(_abax_requests(fresh, "/v1/trips/expense")) - before
    assert calls > 2 * 4  # more than two windows' worth, over several Fetch invocations
    assert fresh.abax.rate_limited == 0  # paced under the limit: ABAX never answered 429
