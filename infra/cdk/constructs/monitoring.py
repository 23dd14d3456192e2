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
# The state machine's tasks raise these outcomes as errors (shared/abax_payroll/observability.py).
CONTROL_FLOW_METRIC = "ExportStepsControlFlow"
# Functions whose Lambda errors are all faults; ExportSteps' errors include control flow (see _alarms).
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
        """The code's own outcome metrics: exports that failed unexpectedly, rollbacks that left lines behind,
        scheduled exports that did not start. (Validation failures and rollbacks are outcomes the user
        sees and acts on: they are graphed, not alarmed.)"""
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
            "ScheduledStartsFailed",
            export_metric("ScheduledStartsFailed"),
            "A scheduled monthly export did not start; the tenant's export list shows it as FAILED with the reason. "
            "The month's claim was released: the next daily run tries again.",
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
            "An export execution ran past the state machine's TimeoutSeconds or was aborted: no rollback ran, its "
            "export still shows RUNNING (the tenant cannot start another) and lines it created may be in PowerOffice "
            "Go. Find them by the export id's ExternalImportReference prefix.",
        )

    def _function_alarms(self) -> None:
        for name, function in self._functions.items():
            errors = function.metric_errors(period=FIVE_MINUTES, statistic="Sum")
            if name == "ExportSteps":
                # Its tasks raise the state machine's control flow (validation problems, a superseded run, a
                # push to roll back) as errors; what is left are faults: crashes, timeouts, out of memory.
                self._alarm(
                    "ExportStepsFaults",
                    cloudwatch.MathExpression(
                        expression="MAX([errors - FILL(controlFlow, 0), 0])",
                        using_metrics={"errors": errors, "controlFlow": export_metric(CONTROL_FLOW_METRIC)},
                        label="ExportSteps errors that are not control flow",
                        period=FIVE_MINUTES,
                    ),
                    "The ExportSteps function failed for a reason other than the state machine's control flow "
                    "(validation problems, a superseded run, a push to roll back): a crash, timeout or out of memory.",
                )
            else:
                self._alarm(f"{name}Errors", errors, f"The {name} function raised errors.")
            if name == "Pusher":
                continue  # reserved concurrency 1: a wake-up while it drains is throttled by design
            self._alarm(
                f"{name}Throttles",
                function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                f"The {name} function was throttled.",
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
                        "ScheduledStartsFailed",
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
                title="API latency (p90)",
                left=[rest_api.metric_latency(period=FIVE_MINUTES, statistic="p90")],
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
