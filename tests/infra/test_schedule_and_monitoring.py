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


def test_alarm_on_rollbacks_that_left_lines_behind_and_failed_exports(synthesized):
    by_metric = {a.get("MetricName"): a for a in _alarms(synthesized) if a.get("Namespace") == "AbaxPayroll"}
    assert set(by_metric) == {"RollbackIncomplete", "ExportsFailed"}
    for alarm in by_metric.values():
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "abax-payroll"}]
        assert alarm["Statistic"] == "Sum" and alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"


def test_alarms_on_lambda_errors_and_throttles_api_5xx_timeouts_and_dead_letters(synthesized):
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
    assert {(metric, fn) for metric in ("Errors", "Throttles") for fn in functions} == set(lambda_alarms)
    assert any(a.get("Namespace") == "AWS/ApiGateway" and a["MetricName"] == "5XXError" for a in alarms)
    assert any(
        a.get("Namespace") == "AWS/SQS" and a["MetricName"] == "ApproximateNumberOfMessagesVisible"
        for a in alarms
    )
    states = [m for a in alarms for m in a.get("Metrics", []) if "MetricStat" in m]
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in states} == {
        "ExecutionsTimedOut",
        "ExecutionsAborted",
    }


def test_every_alarm_notifies_the_encrypted_topic(synthesized, template):
    (topic_id,) = synthesized.resources("AWS::SNS::Topic")
    for alarm in _alarms(synthesized):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {"KmsMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("MonitoringAlarmTopicKey"), "Arn"]}},
    )
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
