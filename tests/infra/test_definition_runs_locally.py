"""Cloud and local cannot drift: the state machine the CDK template deploys runs a real export in moto."""

from __future__ import annotations

import json
import os

import boto3

from infra.cdk.definition import local_definition
from local.aws import REGION
from local.stack import LocalStack
from tests.support import (
    activate,
    api_client,
    good_logbooks,
    map_codes,
    wait_for_export,
)


def test_synthesized_definition_completes_and_rolls_back_an_export_in_moto(
    synthesized, fresh: LocalStack
) -> None:
    stack = fresh
    definition = local_definition(synthesized.template, stack.aws.function_arns)
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    role = boto3.client("iam", region_name=REGION).get_role(RoleName="abax-payroll-local")["Role"]["Arn"]
    synthesized_arn = stepfunctions.create_state_machine(
        name=f"from-cdk-{os.getpid()}", definition=json.dumps(definition), roleArn=role, type="STANDARD"
    )["stateMachineArn"]
    local_arn = stack.aws.state_machine_arn
    stack.aws.use_state_machine(synthesized_arn)  # what the functions start, and their roles allow
    try:
        with api_client(stack, "acme", "admin") as client:
            activate(client)
            map_codes(client)
            logbooks = good_logbooks(client)
            started = client.post(
                "/exports", json={"from": "2026-10-01", "to": "2026-10-31", "logbook_ids": logbooks}
            )
            export = wait_for_export(client, started.json()["export_id"])
            assert export["status"] == "COMPLETED"
            assert export["execution_arn"].startswith(
                synthesized_arn.replace(":stateMachine:", ":execution:")
            )
            assert (
                len(stack.poweroffice.salary_lines("acme-demo-client-key-7f3a")) == export["line_count"] > 0
            )

            rule = {"method": "POST", "path": "/SalaryLines", "nth": 2, "times": 1000, "status": 500}
            stack.poweroffice.set_faults([rule])
            rolled = wait_for_export(
                client,
                client.post("/exports", json={"from": "2026-11-01", "to": "2026-11-30"}).json()["export_id"],
            )
            stack.poweroffice.set_faults([])
            assert rolled["status"] == "ROLLED_BACK"
    finally:
        stack.aws.use_state_machine(local_arn)
