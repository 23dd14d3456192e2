"""The deployed state-machine definition, made runnable elsewhere (moto, the local stack): take the synthesized
template, put placeholder ARNs where CloudFormation would put the real ones, parse the ASL."""

from __future__ import annotations

import json
import re
from typing import Any

# The Lambda handler behind each substitution, to resolve ARN references that are not named substitutions.
HANDLER_ROLES = {
    "functions.export.steps.handler": "ExportStepsFunctionArn",
    "functions.rollback.app.handler": "RollbackFunctionArn",
}
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")


class DefinitionError(ValueError):
    """The template holds no state machine, or a reference that no given ARN resolves."""


def local_definition(template: dict, arns: dict[str, str]) -> dict:
    """The ASL of the template's (only) state machine, with each ARN reference replaced by `arns[role]`, where
    role is "ExportStepsFunctionArn" or "RollbackFunctionArn". Handles a plain DefinitionString with
    DefinitionSubstitutions, Fn::Join of strings and references, and Fn::Sub."""
    resources: dict[str, Any] = template.get("Resources", {})
    machines = [r for r in resources.values() if r.get("Type") == "AWS::StepFunctions::StateMachine"]
    if len(machines) != 1:
        raise DefinitionError(f"expected one AWS::StepFunctions::StateMachine, found {len(machines)}")
    properties = machines[0].get("Properties", {})
    if "DefinitionString" not in properties:
        raise DefinitionError("the state machine has no inline DefinitionString (an S3 definition?)")

    roles_by_logical_id = {
        logical_id: HANDLER_ROLES[resource["Properties"]["Handler"]]
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Lambda::Function"
        and resource.get("Properties", {}).get("Handler") in HANDLER_ROLES
    }

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Fn::GetAtt":
                logical_id = argument[0] if isinstance(argument, list) else argument.split(".")[0]
                return _arn_for(roles_by_logical_id.get(logical_id), arns, value)
            if function == "Ref":
                return _arn_for(roles_by_logical_id.get(argument), arns, value)
            if function == "Fn::Join":
                separator, parts = argument
                return separator.join(resolve(part) for part in parts)
            if function == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                return substitute(text, {name: resolve(v) for name, v in variables.items()})
        raise DefinitionError(f"cannot resolve {json.dumps(value)[:200]}")

    def substitute(text: str, variables: dict[str, str]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return variables[name]
            if name in arns:
                return arns[name]
            logical_id = name.split(".")[0]
            return _arn_for(roles_by_logical_id.get(logical_id), arns, name)

        return _VARIABLE.sub(one, text)

    substitutions = {
        name: resolve(value) for name, value in (properties.get("DefinitionSubstitutions") or {}).items()
    }
    text = resolve(properties["DefinitionString"])
    # CloudFormation applies DefinitionSubstitutions to ${Name} in the string; nothing else is a variable there.
    text = _VARIABLE.sub(lambda m: substitutions.get(m.group(1), m.group(0)), text) if substitutions else text
    return json.loads(text)


def _arn_for(role: str | None, arns: dict[str, str], reference: object) -> str:
    if role is None or role not in arns:
        raise DefinitionError(
            f"no placeholder ARN for {json.dumps(reference)} (role {role!r}); given {sorted(arns)}"
        )
    return arns[role]
