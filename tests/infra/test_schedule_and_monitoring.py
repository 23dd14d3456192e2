"""The daily schedule, the alarms that need an engineer, the dashboard."""

from __future__ import annotations

from aws_cdk.assertions import Match


def test_daily_schedule_in_oslo_time_invokes_the_schedule_function_with_a_dlq(template, synthesized):
    schedule_id, _ = synthesized.function_by_handler("functions.export.schedule.handler")
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "cron(0 6 * * ? *)",
            "ScheduleExpressionTimezone": "Europe/Oslo",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Target": Match.object_like(
                {
                    "Arn": {"Fn::GetAtt": [schedule_id, "Arn"]},
                    "DeadLetterConfig": {
                        "Arn": {"Fn::GetAtt": [Match.string_like_regexp("AsyncDeadLetterQueue"), "Arn"]}
                    },
                    "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 7200},
                    "Input": Match.serialized_json(
                        {
                            "source": "abax-payroll.schedule",
                            "scheduled_time": "<aws.scheduler.scheduled-time>",
                        }
                    ),
                }
            ),
        },
    )


def _alarms(synthesized) -> list[dict]:
    return [a["Properties"] for a in synthesized.resources("AWS::CloudWatch::Alarm").values()]


def test_operators_are_paged_by_the_codes_outcome_metrics_of_faults_only(synthesized):
    """Faults the code counts when they happen; a scheduled start the company must fix (integration off, ABAX
    disconnected: ScheduledStartsRefused) pages no one, and neither do validation failures or rollbacks."""
    by_metric = {a.get("MetricName"): a for a in _alarms(synthesized) if a.get("Namespace") == "AbaxPayroll"}
    assert set(by_metric) == {
        "UnexpectedErrors",
        "ExportsFailed",
        "RollbackIncomplete",
        "ExportsReconciled",
        "ScheduledStartsFailed",
    }
    for alarm in by_metric.values():
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "abax-payroll"}]
        assert alarm["Statistic"] == "Sum" and alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"


def _math_alarms(synthesized) -> list[tuple[str, dict[str, dict]]]:
    """(expression, {id: MetricStat.Metric}) of every alarm on a metric math expression."""
    found = []
    for alarm in _alarms(synthesized):
        metrics = alarm.get("Metrics", [])
        expression = next((m["Expression"] for m in metrics if "Expression" in m), None)
        if expression:
            found.append(
                (expression, {m["Id"]: m["MetricStat"]["Metric"] for m in metrics if "MetricStat" in m})
            )
    return found


def test_alarms_on_throttles_api_5xx_timeouts_and_dead_letters(synthesized):
    alarms = _alarms(synthesized)
    lambda_alarms = [
        (a["MetricName"], a["Dimensions"][0]["Value"]["Ref"])
        for a in alarms
        if a.get("Namespace") == "AWS/Lambda"
    ]
    # CDK's BucketDeployment handler runs only inside a deploy, whose failure CloudFormation reports itself.
    functions = {
        k
        for k in synthesized.resources("AWS::Lambda::Function")
        if not k.startswith("CustomCDKBucketDeployment")
    }
    # The pusher has reserved concurrency 1: a wake-up while it drains the queue is throttled by design.
    (pusher,) = [k for k in functions if k.startswith("FunctionsPusher")]
    assert {("Throttles", fn) for fn in functions - {pusher}} == set(lambda_alarms)
    assert any(a.get("Namespace") == "AWS/ApiGateway" and a["MetricName"] == "5XXError" for a in alarms)
    dead_letters = [
        a
        for a in alarms
        if a.get("Namespace") == "AWS/SQS" and a["MetricName"] == "ApproximateNumberOfMessagesVisible"
    ]
    assert {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0][:-8] for a in dead_letters} >= {
        "FunctionsAsyncDeadLetterQueue",
        "FunctionsScheduledStartsDeadLetters",
    }
    states = {
        metric["MetricName"]
        for _, metrics in _math_alarms(synthesized)
        for metric in metrics.values()
        if metric["Namespace"] == "AWS/States"
    }
    assert states == {"ExecutionsTimedOut", "ExecutionsAborted"}


def test_no_alarm_reads_lambda_errors_which_count_the_state_machines_control_flow(synthesized):
    """Lambda stamps Errors at the invocation's start and an EMF count at its flush, and the steps raise
    validation problems, lease waits and ABAX retries as errors: an alarm on Errors (minus a guess) pages for
    normal flow. Faults are counted by the code (UnexpectedErrors), by cause."""
    read = [
        metric
        for alarm in _alarms(synthesized)
        for metric in [
            alarm,
            *(m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m),
        ]
        if metric.get("MetricName") in ("Errors", "ExportStepsControlFlow")
    ]
    assert read == []


def test_state_machine_times_out_and_the_timeout_is_alarmed(synthesized):
    (machine,) = synthesized.resources("AWS::StepFunctions::StateMachine").values()
    body = machine["Properties"]["DefinitionString"]
    text = (
        body
        if isinstance(body, str)
        else "".join(p if isinstance(p, str) else "" for p in body["Fn::Join"][1])
    )
    assert '"TimeoutSeconds": 86400' in text or '"TimeoutSeconds":86400' in text


def test_dynamodb_throttling_is_alarmed(synthesized):
    throttled = [
        metrics
        for _, metrics in _math_alarms(synthesized)
        if any(
            m["Namespace"] == "AWS/DynamoDB" and m["MetricName"] == "ThrottledRequests"
            for m in metrics.values()
        )
    ]
    assert len(throttled) == 1
    operations = {
        d["Value"] for m in throttled[0].values() for d in m["Dimensions"] if d["Name"] == "Operation"
    }
    assert {"GetItem", "PutItem", "UpdateItem", "Query", "DeleteItem"} <= operations


def test_the_alarm_topic_has_a_subscriber(template):
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "payroll-alarms@example.no"}
    )


def test_a_deploy_without_alarm_email_is_refused(tmp_path):
    import pytest

    from infra.cdk.app import create_app
    from tests.infra.conftest import placeholder_assets

    with pytest.raises(ValueError, match="alarm_email"):
        create_app({"assets_dir": str(placeholder_assets(tmp_path / "assets"))}, outdir=str(tmp_path / "out"))


def test_every_alarm_notifies_the_encrypted_topic(synthesized, template):
    (topic_id,) = synthesized.resources("AWS::SNS::Topic")
    for alarm in _alarms(synthesized):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {"KmsMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("MonitoringAlarmTopicKey"), "Arn"]}},
    )
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
