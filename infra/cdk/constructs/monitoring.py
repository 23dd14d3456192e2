"""Alarms (to an SNS topic with at least one subscriber) and a dashboard: alarms on the project's own outcome
metrics and on real faults, never on the control flow the export state machine runs on."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
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
# Counted by the code when an error escapes a handler that its caller does not branch on (observability.py).
UNEXPECTED_ERRORS_METRIC = "UnexpectedErrors"
TABLE_OPERATIONS = [
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.BATCH_GET_ITEM,
    dynamodb.Operation.QUERY,
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.UPDATE_ITEM,
    dynamodb.Operation.DELETE_ITEM,
    dynamodb.Operation.BATCH_WRITE_ITEM,
]


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
        table: dynamodb.ITable,
        dead_letter_queues: dict[str, sqs.IQueue],
        alarm_email: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if not alarm_email or "@" not in alarm_email:
            raise ValueError(
                "alarm_email is required: the alarms must reach someone (-c alarm_email=ops@example.no)"
            )
        self._functions = functions
        self._state_machine = state_machine
        self._rest_api = rest_api
        self._table = table
        self._dead_letter_queues = dead_letter_queues
        self.key, self.topic = self._topic(alarm_email)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._outcome_alarms()
        self._workflow_alarms()
        self._function_alarms()
        self._api_alarms()
        self._table_alarms()
        self._dead_letter_alarms()
        self.dashboard = self._dashboard()

    def _topic(self, alarm_email: str) -> tuple[kms.Key, sns.Topic]:
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="abax-payroll: alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CloudWatch publishes to the encrypted topic, so it must be able to use the key.
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey")
        topic = sns.Topic(
            self, "Alarms", display_name="abax-payroll alarms", master_key=key, enforce_ssl=True
        )
        topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        return key, topic

    def _outcome_alarms(self) -> None:
        """The code's own outcome metrics, each counted when the outcome happens (README › Observability ›
        Alarms says what the operator does about each). Validation failures, rollbacks and scheduled starts the
        company must fix (ScheduledStartsRefused: integration off, ABAX disconnected) are outcomes the company
        sees and acts on: they are graphed, never alarmed."""
        self._alarm(
            "UnexpectedErrors",
            export_metric(UNEXPECTED_ERRORS_METRIC),
            "A handler raised an error that is not one of the outcomes its caller branches on (or the API answered "
            "500): a bug, or a system we call failing in a way the code does not expect. The dashboard's "
            "'Unexpected errors by cause' names the exception; the function's log has the traceback.",
        )
        self._alarm(
            "ExportsFailed",
            export_metric("ExportsFailed"),
            "An export failed for a technical reason (status FAILED, nothing left in PowerOffice Go, its trips "
            "free again); the export record and the execution history hold the error. The company can try again.",
        )
        self._alarm(
            "RollbackIncomplete",
            export_metric("RollbackIncomplete"),
            "A rollback left salary lines in PowerOffice Go (ROLLBACK_INCOMPLETE); the export record names them. "
            "Payroll must remove them by hand before the next payroll run.",
        )
        self._alarm(
            "ExportsReconciled",
            export_metric("ExportsReconciled"),
            "The reconciliation sweep ended an export that said RUNNING while its execution had ended, or never got "
            "one: a run-ended event was lost or a start crashed. The export is ended as the event would have "
            "ended it; look for the cause in the function's log around its start.",
        )
        self._alarm(
            "ScheduledStartsFailed",
            export_metric("ScheduledStartsFailed"),
            "A scheduled monthly export did not start for a technical reason (not one the company must fix: those "
            "are ScheduledStartsRefused, graphed only); the tenant's export list shows it as FAILED with the "
            "reason. The month's claim was released: the next daily run tries again.",
        )

    def _workflow_alarms(self) -> None:
        # Step Functions counts validation failures and rollbacks as failed executions too (they end in Fail
        # states on purpose), so only timeouts (the definition's TimeoutSeconds) and aborts are alarmed here.
        state_machine = self._state_machine
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
            "An export execution ran past the state machine's TimeoutSeconds or was aborted: no rollback ran. The "
            "run-ended rule (or the reconciliation sweep) ends its export: FAILED when nothing was sent, else "
            "ROLLBACK_INCOMPLETE with rollback and resume offered to the company.",
        )

    def _function_alarms(self) -> None:
        # Lambda's Errors are not alarmed: the export steps raise the state machine's control flow as errors,
        # and what is a fault is counted by the code itself (UnexpectedErrors). A timeout or an out-of-memory
        # crash, which no code sees, still ends in an outcome that is: an export FAILED (the state machine's
        # Catch), a dead letter (asynchronous and queued invocations), an API 5xx.
        for name, function in self._functions.items():
            if name == "Pusher":
                continue  # reserved concurrency 1: a wake-up while it drains is throttled by design
            self._alarm(
                f"{name}Throttles",
                function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                f"The {name} function was throttled: the account's or the function's concurrency is exhausted.",
            )

    def _api_alarms(self) -> None:
        self._alarm(
            "Api5xx",
            self._rest_api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
            "The API answered 5xx.",
        )

    def _table_alarms(self) -> None:
        self._alarm(
            "TableThrottles",
            self._table.metric_throttled_requests_for_operations(
                operations=TABLE_OPERATIONS, period=FIVE_MINUTES, statistic="Sum"
            ),
            "DynamoDB throttled requests on the table (on-demand: a hot partition or the account's limits); "
            "exports retry, but a sustained rate slows every tenant.",
        )

    def _dead_letter_alarms(self) -> None:
        for name, queue in self._dead_letter_queues.items():
            self._alarm(
                f"{name}DeadLetters",
                queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum"),
                f"Messages in the {name} dead-letter queue: work that failed after its retries; see the queue.",
            )

    def _dashboard(self) -> cloudwatch.Dashboard:
        state_machine, rest_api, functions = self._state_machine, self._rest_api, self._functions
        dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(7))
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Exports",
                left=[
                    export_metric(name)
                    for name in (
                        "ExportsCompleted",
                        "ExportsValidationFailed",
                        "ExportsRolledBack",
                        "ExportsFailed",
                        "RollbackIncomplete",
                        "ExportsReconciled",
                        "ScheduledStartsFailed",
                        "ScheduledStartsRefused",
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
        dashboard.add_widgets(
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
                title="API latency (p90); requests over a company's share",
                left=[rest_api.metric_latency(period=FIVE_MINUTES, statistic="p90")],
                right=[export_metric("CompanyRequestsThrottled")],
                width=12,
            ),
        )
        dashboard.add_widgets(
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
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Unexpected errors by cause",
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SEARCH('{{{NAMESPACE},cause,service}} MetricName=\"{UNEXPECTED_ERRORS_METRIC}\"', "
                        "'Sum', 300)",
                        label="",
                        period=FIVE_MINUTES,
                    )
                ],
                width=24,
            )
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24)
        )
        return dashboard

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
