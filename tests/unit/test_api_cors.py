"""The web app's origin gets CORS headers on the functions' own answers (API Gateway adds none to proxy answers)."""

import json

from abax_payroll.api.common import make_resolver
from abax_payroll.api.integration import router


def _event(origin: str) -> dict:
    return {
        "resource": "/{proxy+}",
        "path": "/integrations/poweroffice",
        "httpMethod": "GET",
        "headers": {"origin": origin},
        "multiValueHeaders": {"origin": [origin]},
        "queryStringParameters": None,
        "requestContext": {"requestId": "r", "stage": "v1", "authorizer": None},
        "body": None,
        "isBase64Encoded": False,
    }


def test_allowed_origin_is_echoed_and_others_are_not(monkeypatch):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://payroll.example.no, https://lonn.example.no")
    app = make_resolver(router)
    answer = app.resolve(_event("https://lonn.example.no"), None)
    headers = {
        **(answer.get("headers") or {}),
        **{k: v[-1] for k, v in (answer.get("multiValueHeaders") or {}).items()},
    }
    assert answer["statusCode"] == 401  # no token: still a problem+json the browser may read
    assert headers.get("Access-Control-Allow-Origin") == "https://lonn.example.no"
    # The web app reads how many parts a documentation report has (GET …/report.csv?part=N) from a header.
    assert "X-Report-Parts" in headers.get("Access-Control-Expose-Headers", "")
    # and, answered 429 past its company's share, when to ask again (not a CORS-safelisted header).
    assert "Retry-After" in headers.get("Access-Control-Expose-Headers", "")
    assert json.loads(answer["body"])["code"] == "UNAUTHORIZED"
    foreign = app.resolve(_event("https://evil.example"), None)
    foreign_headers = {
        **(foreign.get("headers") or {}),
        **{k: v[-1] for k, v in (foreign.get("multiValueHeaders") or {}).items()},
    }
    assert "Access-Control-Allow-Origin" not in foreign_headers
