"""The state machine: Standard, logged without payroll data, traced, built from the ASL file the local stack
runs, startable only by the export API and the schedule."""

from __future__ import annotations

import json

import pytest

from infra.cdk.constructs.workflow import ASL_FILE
from infra.cdk.definition import DefinitionError, local_definition

PLACEHOLDERS = {
    "ExportStepsFunctionArn": "arn:aws:lambda:eu-north-1:123456789012:function:export-steps",
    "RollbackFunctionArn": "arn:aws:lambda:eu-north-1:123456789012:function:rollback",
}


def test_standard_state_machine_logs_without_execution_data_and_traces(template):
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "LoggingConfiguration": {
                "Level": "ALL",
                "IncludeExecutionData": False,
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [
                    "WorkflowExecutionLogsE67184FE", "Arn"]}}}],
            },
            "TracingConfiguration": {"Enabled": True},
        },
    )  # fmt: skip


def test_definition_substitutions_point_at_the_task_functions(synthesized):
    (machine,) = synthesized.resources("AWS::StepFunctions::StateMachine").values()
    steps_id, _ = synthesized.function_by_handler("functions.export.steps.handler")
    rollback_id, _ = synthesized.function_by_handler("functions.rollback.app.handler")
    assert machine["Properties"]["DefinitionSubstitutions"] == {
        "ExportStepsFunctionArn": {"Fn::GetAtt": [steps_id, "Arn"]},
        "RollbackFunctionArn": {"Fn::GetAtt": [rollback_id, "Arn"]},
    }


def test_deployed_definition_is_the_asl_file_with_arns_substituted(synthesized):
    definition = local_definition(synthesized.template, PLACEHOLDERS)
    source = json.loads(ASL_FILE.read_text())
    assert definition["StartAt"] == "Start"
    assert set(definition["States"]) == set(source["States"]) >= {
        "Start", "Fetch", "FetchedAll", "SearchFetch", "Validate", "Group", "Push", "Complete", "Rollback",
        "RollbackOutcome", "MarkFailed",
        "RollbackAgain", "PrepareResume", "ResumeOutcome",
    }  # fmt: skip
    expected = json.loads(
        ASL_FILE.read_text()
        .replace("${ExportStepsFunctionArn}", PLACEHOLDERS["ExportStepsFunctionArn"])
        .replace("${RollbackFunctionArn}", PLACEHOLDERS["RollbackFunctionArn"])
    )
    assert definition == expected
    assert definition["States"]["Rollback"]["Resource"] == PLACEHOLDERS["RollbackFunctionArn"]
    assert definition["States"]["RollbackAgain"]["Resource"] == PLACEHOLDERS["RollbackFunctionArn"]
    assert definition["States"]["PrepareResume"]["Resource"] == PLACEHOLDERS["ExportStepsFunctionArn"]
    push_chunk = definition["States"]["Push"]["ItemProcessor"]["States"]["PushChunk"]
    # A chunk waits on its task token: ExportSteps queues it, the pusher answers.
    assert push_chunk["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert push_chunk["Parameters"]["FunctionName"] == PLACEHOLDERS["ExportStepsFunctionArn"]
    assert push_chunk["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"


def test_local_definition_resolves_joined_arn_references(synthesized):
    """The other shape CDK emits (definition built in code): an Fn::Join of strings and ARN references."""
    steps_id, _ = synthesized.function_by_handler("functions.export.steps.handler")
    rollback_id, _ = synthesized.function_by_handler("functions.rollback.app.handler")
    parts = [
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "',
        {"Fn::GetAtt": [steps_id, "Arn"]},
        '", "Next": "B"}, "B": {"Type": "Task", "Resource": "',
        {"Ref": rollback_id},
        '", "End": true}}}',
    ]
    functions = synthesized.resources("AWS::Lambda::Function")
    machine = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"DefinitionString": {"Fn::Join": ["", parts]}},
    }
    definition = local_definition({"Resources": {**functions, "Machine": machine}}, PLACEHOLDERS)
    assert definition["States"]["A"]["Resource"] == PLACEHOLDERS["ExportStepsFunctionArn"]
    assert definition["States"]["B"]["Resource"] == PLACEHOLDERS["RollbackFunctionArn"]


def test_local_definition_refuses_a_missing_placeholder(synthesized):
    with pytest.raises(DefinitionError):
        local_definition(synthesized.template, {"ExportStepsFunctionArn": "arn:aws:lambda:::function:x"})


def test_only_the_export_api_and_the_scheduled_start_may_start_executions(synthesized):
    starters = set()
    for logical_id, policy in synthesized.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if actions == [
                "states:DescribeExecution"
            ]:  # the reconciliation sweep (tests/infra/test_iam.py), the pusher
                assert logical_id.startswith(("FunctionsReconcileRole", "WorkflowPusherAnswersRuns"))
                continue
            if any(action.startswith("states:") for action in actions):
                if logical_id.startswith("WorkflowPusherAnswersRuns"):  # answers and reads, never starts
                    assert "states:StartExecution" not in actions
                    continue
                assert actions == ["states:StartExecution"] or actions == "states:StartExecution"
                assert statement["Resource"] == {"Ref": "WorkflowExportStateMachineC19B3F5E"}
                starters.add(logical_id.split("Role")[0])
    assert starters == {"FunctionsExportApi", "FunctionsScheduledStart"}


def test_state_machine_may_invoke_exactly_the_two_task_functions(synthesized):
    (policy,) = [
        p for k, p in synthesized.resources("AWS::IAM::Policy").items() if k.startswith("WorkflowExport")
    ]
    invoke = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "lambda:InvokeFunction"
    ]
    steps_id, _ = synthesized.function_by_handler("functions.export.steps.handler")
    rollback_id, _ = synthesized.function_by_handler("functions.rollback.app.handler")
    assert invoke == [
        {
            "Sid": "InvokeExportTasks",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": [{"Fn::GetAtt": [steps_id, "Arn"]}, {"Fn::GetAtt": [rollback_id, "Arn"]}],
        }
    ]


def test_a_run_that_ends_outside_its_catch_is_sent_to_the_export_steps_function(synthesized):
    """Stopped in the console, timed out, or failed without a Catch: EventBridge tells ExportSteps, which
    ends the export (workflow/ended.py). EventBridge retries a delivery Lambda does not accept for a day; a
    function error (a run still pushing) gets Lambda's asynchronous retries, twice, then the dead-letter queue."""
    (machine_id,) = synthesized.resources("AWS::StepFunctions::StateMachine")
    steps_id, _ = synthesized.function_by_handler("functions.export.steps.handler")
    (rule,) = [
        rule
        for rule in synthesized.resources("AWS::Events::Rule").values()
        if "EventPattern" in rule["Properties"]
    ]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": machine_id}]
    assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [steps_id, "Arn"]}
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 24 * 3600
    assert "DeadLetterConfig" in target
    (invoke_config,) = [
        config["Properties"]
        for config in synthesized.resources("AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["FunctionName"] == {"Ref": steps_id}
    ]
    assert invoke_config["MaximumRetryAttempts"] == 2
    (steps,) = [f for k, f in synthesized.resources("AWS::Lambda::Function").items() if k == steps_id]
    assert steps["Properties"]["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0].startswith(
        "FunctionsAsyncDeadLetterQueue"
    )


def _lambda_tasks(states: dict) -> dict:
    tasks = {}
    for name, state in states.items():
        if "ItemProcessor" in state:
            tasks.update(_lambda_tasks(state["ItemProcessor"]["States"]))
        if state.get("Type") == "Task" and (
            "FunctionArn" in state["Resource"] or state["Resource"].startswith("arn:aws:states:::lambda:")
        ):
            tasks[name] = state
    return tasks


def test_every_lambda_task_waits_out_a_throttle_in_step_functions():
    """ExportSteps has a reserved concurrency: at a month end most steps are throttled at first. Each Lambda
    task retries Lambda.TooManyRequestsException with capped exponential backoff and full jitter (the retries
    of hundreds of exports spread out instead of arriving together), before any retrier or Catch that would
    end the export, and for long enough (the sum of the capped delays' halves, FULL jitter's mean) that a
    month end's backlog never ends an export."""
    source = json.loads(ASL_FILE.read_text())
    tasks = _lambda_tasks(source["States"])
    assert len(tasks) >= 11
    for name, task in tasks.items():
        throttle = [r for r in task["Retry"] if "Lambda.TooManyRequestsException" in r["ErrorEquals"]]
        assert len(throttle) == 1, name
        (retrier,) = throttle
        assert retrier["ErrorEquals"] == ["Lambda.TooManyRequestsException"], name
        assert retrier["JitterStrategy"] == "FULL" and retrier["BackoffRate"] > 1, name
        delays = [
            min(retrier["MaxDelaySeconds"], retrier["IntervalSeconds"] * retrier["BackoffRate"] ** n)
            for n in range(retrier["MaxAttempts"])
        ]
        assert sum(delays) / 2 >= 2 * 3600, name  # hours of a throttled step, on average
        before = task["Retry"][: task["Retry"].index(retrier)]
        assert all("States.ALL" not in r["ErrorEquals"] for r in before), name


def test_export_steps_reserved_concurrency_is_cdk_jsons(synthesized):
    from infra.cdk.app import CDK_JSON

    reserved = json.loads(CDK_JSON.read_text())["context"]["export_steps_reserved_concurrency"]
    _, steps = synthesized.function_by_handler("functions.export.steps.handler")
    assert steps["Properties"]["ReservedConcurrentExecutions"] == reserved
    assert 1 < reserved <= 9  # with the one pusher, the month end's target of at most ~10 environments
