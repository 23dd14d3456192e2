"""The API publishes its own OpenAPI document, and the committed copy is the one the code generates."""

import json
from pathlib import Path

from abax_payroll.api.openapi import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SPEC_ROUTES = {
    ("get", "/integrations/poweroffice"),
    ("post", "/integrations/poweroffice/activate"),
    ("post", "/integrations/poweroffice/deactivate"),
    ("get", "/integrations/abax"),
    ("post", "/integrations/abax/activate"),
    ("post", "/integrations/abax/deactivate"),
    ("get", "/payroll-codes"),
    ("put", "/payroll-codes"),
    ("get", "/pay-items"),
    ("get", "/rates"),
    ("put", "/rates"),
    ("post", "/exports/preview"),
    ("get", "/exports/previews/{preview_id}"),
    ("post", "/exports"),
    ("get", "/exports"),
    ("get", "/exports/{export_id}"),
    ("post", "/exports/{export_id}/rollback"),
    ("post", "/exports/{export_id}/resume"),
    ("get", "/exports/{export_id}/report"),
    ("get", "/exports/{export_id}/report.csv"),
    ("get", "/exports/{export_id}/problems/{code}"),
    ("get", "/exports/{export_id}/lines"),
    ("get", "/exports/{export_id}/left-behind"),
    ("get", "/exports/previews/{preview_id}/problems/{code}"),
    ("get", "/exports/previews/{preview_id}/lines"),
    ("get", "/schedule"),
    ("put", "/schedule"),
}


def test_committed_document_is_current():
    generated = openapi_document()
    assert json.loads(COMMITTED.read_text()) == generated, "run `make openapi` and commit docs/openapi.json"


def test_every_route_of_the_spec_is_documented_with_problem_answers():
    document = openapi_document()
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert documented == SPEC_ROUTES
    assert document["servers"] == [{"url": "/v1"}]
    start = document["paths"]["/exports"]["post"]["responses"]
    assert "202" in start and "409" in start
    assert start["409"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }


def test_every_success_answer_has_a_named_schema():
    """No operation answers an untyped object: each 2xx response points at a model with its properties."""
    document = openapi_document()
    schemas = document["components"]["schemas"]
    untyped = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    continue
                if "text/csv" in response["content"]:  # the documentation report's CSV is text
                    assert response["content"]["text/csv"]["schema"] == {"type": "string"}
                    continue
                schema = response["content"]["application/json"]["schema"]
                name = schema.get("$ref", "").rpartition("/")[2]
                if name not in schemas or not schemas[name].get("properties"):
                    untyped.append(f"{method.upper()} {path} {status}")
    assert untyped == []
