"""Bad date ranges are refused before anything happens, with a message naming the problem (SPEC 3, 4)."""

from __future__ import annotations

import httpx
import pytest

BAD_PERIODS = [
    pytest.param(
        {"from": "2026-10-31", "to": "2026-10-01"}, 400, "INVALID_PERIOD", ["before"], id="reversed"
    ),
    pytest.param(
        {"from": "2026-13-01", "to": "2026-12-31"},
        400,
        "INVALID_PERIOD",
        ["from", "2026-13-01"],
        id="month-13",
    ),
    pytest.param(
        {"from": "yesterday", "to": "2026-10-31"}, 400, "INVALID_PERIOD", ["from", "yesterday"], id="word"
    ),
    pytest.param(
        {"from": "2026-10-01", "to": "2026-02-30"}, 400, "INVALID_PERIOD", ["to", "2026-02-30"], id="feb-30"
    ),
    pytest.param(
        {"from": "2025-01-01", "to": "2026-01-02"}, 400, "INVALID_PERIOD", ["367", "366"], id="too-long"
    ),
    pytest.param({"to": "2026-10-31"}, 422, "INVALID_REQUEST", ["from"], id="missing-from"),
    pytest.param({"from": "2026-10-01"}, 422, "INVALID_REQUEST", ["to"], id="missing-to"),
]


@pytest.mark.parametrize("path", ["/exports/preview", "/exports"])
@pytest.mark.parametrize(("body", "status", "code", "words"), BAD_PERIODS)
def test_bad_period_is_refused_with_a_clear_message(
    acme_admin: httpx.Client, path: str, body: dict, status: int, code: str, words: list[str]
) -> None:
    # The period is checked first, before the integration or ABAX are asked anything.
    response = acme_admin.post(path, json=body)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    for word in words:
        assert word in problem["detail"], problem["detail"]
    assert acme_admin.get("/exports").json()["exports"] == []


def test_a_period_of_exactly_366_days_is_accepted(acme: httpx.Client) -> None:
    response = acme.post("/exports/preview", json={"from": "2025-11-01", "to": "2026-11-01"})
    assert response.status_code == 200, response.text


def test_a_body_that_is_not_json_is_refused(acme: httpx.Client) -> None:
    response = acme.post(
        "/exports/preview", content=b"from=2026-10-01", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "MALFORMED_JSON"
