"""Alarms (to an SNS topic) and a dashboard: exports that failed or left lines behind, Lambda errors and
throttles, API 5xx, asynchronous invocations in the dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

NAMESPACE = "AbaxPayroll"
SERVICE_DIMENSION = {"service": "abax-payroll"}  # Powertools Metrics adds service=POWERTOOLS_SERVICE_NAME
FIVE_MINUTES = Duration.minutes(5)


def export_metric(name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map=SERVICE_DIMENSION,
        statistic="Sum",
        period=FIVE_MINUTES,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: dict[str, lambda_.Function],
        state_machine: sfn.StateMachine,
        rest_api: apigw.RestApi,
        dead_letter_queue: sqs.IQueue,
        alarm_email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "AlarmTopicKey",
            description="abax-payroll: alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CloudWatch publishes to the encrypted topic, so it must be able to use the key.
        self.key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey")
        self.topic = sns.Topic(
            self, "Alarms", display_name="abax-payroll alarms", master_key=self.key, enforce_ssl=True
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        # Step Functions counts validation failures and rollbacks as failed executions too (they end in Fail
        # states on purpose), so "failed" here is the code's own ExportsFailed plus executions that timed out
        # or were aborted: the cases that need an engineer.
        self._alarm(
            "ExportsFailed",
            export_metric("ExportsFailed"),
            "An export failed unexpectedly (status FAILED); the export record and the execution history hold the error.",
        )
        self._alarm(
            "RollbackIncomplete",
            export_metric("RollbackIncomplete"),
            "A rollback left salary lines in PowerOffice Go (ROLLBACK_INCOMPLETE); the export record names them. "
            "Payroll must remove them by hand before the next payroll run.",
        )
        self._alarm(
            "ExecutionsTimedOutOrAborted",
            cloudwatch.MathExpression(
                expression="timedOut + aborted",
                using_metrics={
                    "timedOut": state_machine.metric_timed_out(period=FIVE_MINUTES, statistic="Sum"),
                    "aborted": state_machine.metric_aborted(period=FIVE_MINUTES, statistic="Sum"),
                },
                label="Executions timed out or aborted",
                period=FIVE_MINUTES,
            ),
            "An export execution timed out or was aborted; its export may still show RUNNING.",
        )
        for name, function in functions.items():
            self._alarm(
                f"{name}Errors",
                function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                f"The {name} function raised errors.",
            )
            self._alarm(
                f"{name}Throttles",
                function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                f"The {name} function was throttled.",
            )
        self._alarm(
            "Api5xx",
            rest_api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
            "The API answered 5xx.",
        )
        self._alarm(
            "AsyncDeadLetters",
            dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=FIVE_MINUTES, statistic="Maximum"
            ),
            "An asynchronous invocation (the daily schedule) failed after its retries; see the dead-letter queue.",
        )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(7))
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Exports",
                left=[
                    export_metric(name)
                    for name in (
                        "ExportsCompleted",
                        "ExportsRolledBack",
                        "ExportsFailed",
                        "RollbackIncomplete",
                    )
                ],
                width=12,
            ),  # fmt: skip
            cloudwatch.GraphWidget(
                title="State machine executions",
                left=[
                    state_machine.metric_started(period=FIVE_MINUTES),
                    state_machine.metric_succeeded(period=FIVE_MINUTES),
                    state_machine.metric_failed(period=FIVE_MINUTES),
                    state_machine.metric_timed_out(period=FIVE_MINUTES),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[rest_api.metric_count(period=FIVE_MINUTES)],
                right=[
                    rest_api.metric_client_error(period=FIVE_MINUTES),
                    rest_api.metric_server_error(period=FIVE_MINUTES),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency (p90)",
                left=[rest_api.metric_latency(period=FIVE_MINUTES, statistic="p90")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda errors",
                left=[fn.metric_errors(period=FIVE_MINUTES, label=name) for name, fn in functions.items()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Lambda throttles",
                left=[fn.metric_throttles(period=FIVE_MINUTES, label=name) for name, fn in functions.items()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration (p90)",
                left=[
                    fn.metric_duration(period=FIVE_MINUTES, statistic="p90", label=name)
                    for name, fn in functions.items()
                ],
                width=8,
            ),  # fmt: skip
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24)
        )

    def _alarm(self, name: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm
        return alarm
