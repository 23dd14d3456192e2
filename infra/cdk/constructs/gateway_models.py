"""The gateway's request models, generated from the API's pydantic models (one contract, never copied).

API Gateway checks a body's shape before a handler runs: types, required fields, lengths, counts and bounds.
What the gateway cannot judge like the handler is left to the handler, so the gateway never refuses a body
the handler would take: patterns (the handler strips white space before matching), formats, and unknown
fields (the handler refuses them with a 422 that names the field).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from abax_payroll.api.models import (
    AbaxActivateRequest,
    ActivateRequest,
    PayrollCodes,
    PeriodRequest,
    Rates,
    Schedule,
)

# The request body models of the API's routes, by the name the gateway model and the OpenAPI document share.
BODY_MODELS: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (ActivateRequest, AbaxActivateRequest, PayrollCodes, Rates, Schedule, PeriodRequest)
}
KEPT = {"type", "required", "properties", "items", "additionalProperties", "anyOf", "enum",
        "minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum"}  # fmt: skip


def gateway_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema (by alias, as requests carry it), inlined and cut to what the gateway checks."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return _cut(schema, schema.get("$defs", {}))


def _cut(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _cut(defs[schema["$ref"].rpartition("/")[2]], defs)
    cut: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in KEPT:
            continue
        if key == "properties":
            cut[key] = {name: _cut(sub, defs) for name, sub in value.items()}
        elif key == "items":
            cut[key] = _cut(value, defs)
        elif key == "anyOf":
            cut[key] = [_cut(option, defs) for option in value]
        elif key == "additionalProperties":
            if isinstance(value, dict):  # the values of a map; `false` (unknown fields) is the handler's
                cut[key] = _cut(value, defs)
        else:
            cut[key] = value
    return cut


REQUEST_MODELS: dict[str, dict[str, Any]] = {
    name: gateway_schema(model) for name, model in BODY_MODELS.items()
}
