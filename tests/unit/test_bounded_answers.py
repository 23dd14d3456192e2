"""What grows with a company is bounded where AWS bounds it: a record's problems (400 KB items), an answer (6 MB)."""

from __future__ import annotations

import json

from abax_payroll.api.common import RESPONSE_LIMIT_BYTES, within_response_limit
from abax_payroll.domain.problems import KEPT_BYTES, KEPT_ITEMS, summarized


def _drivers(count: int) -> dict:
    items = [
        {"driver_id": f"d{n}", "driver_name": f"Sjåfør {n:05d}", "logbooks": [f"d{n}:v{n}:2026-08"]}
        for n in range(count)
    ]
    names = [item["driver_name"] for item in items]
    return {
        "code": "EMPLOYEE_NUMBER_MISSING",
        "severity": "error",
        "message": "Drivers without an employee number in ABAX: " + ", ".join(names),
        "items": items,
        "params": {"drivers": names},
    }


def test_a_problem_naming_5000_drivers_is_kept_as_its_count_and_first_items() -> None:
    problem = _drivers(5000)
    [kept], cut = summarized([problem])
    assert cut is True and kept["truncated"] is True and kept["item_count"] == 5000
    assert kept["items"] == problem["items"][:KEPT_ITEMS]
    assert kept["params"]["drivers"] == problem["params"]["drivers"][:KEPT_ITEMS]
    assert len(kept["message"]) <= 1000 and kept["message"].endswith("…")
    assert len(json.dumps([problem])) > 400 * 1024 > KEPT_BYTES >= len(json.dumps([kept]))


def test_a_short_problem_is_kept_whole() -> None:
    problem = _drivers(3)
    [kept], cut = summarized([problem])
    assert cut is False and kept == {**problem, "item_count": 3, "truncated": False}


def test_many_long_problems_together_stay_within_the_budget() -> None:
    # Lists inside the items (every employee of a pay item) are cut too, and the item count drops to fit.
    problems = [
        {
            "code": f"CODE_{n}",
            "message": "x" * 5000,
            "items": [{"employees": [str(e) for e in range(5000)]}] * 50,
        }
        for n in range(14)
    ]
    kept, cut = summarized(problems)
    assert cut is True and len(json.dumps(kept, separators=(",", ":"))) <= KEPT_BYTES
    assert all(problem["item_count"] == 50 for problem in kept)


def test_an_answer_past_lambdas_6_mb_is_a_413_that_says_so() -> None:
    cors = {"Access-Control-Allow-Origin": ["https://app.example"], "Content-Type": ["application/json"]}
    small = {"statusCode": 200, "multiValueHeaders": cors, "body": "{}", "isBase64Encoded": False}
    assert within_response_limit(small) is small

    big = {**small, "body": json.dumps({"lines": ["x" * 1000] * (RESPONSE_LIMIT_BYTES // 1000)})}
    answer = within_response_limit(big)
    assert answer["statusCode"] == 413 and len(json.dumps(answer)) < 10_000
    assert answer["multiValueHeaders"]["Access-Control-Allow-Origin"] == ["https://app.example"]
    assert answer["multiValueHeaders"]["Content-Type"] == ["application/problem+json"]
    body = json.loads(answer["body"])
    assert body["code"] == "RESPONSE_TOO_LARGE" and body["params"]["bytes"] > RESPONSE_LIMIT_BYTES
