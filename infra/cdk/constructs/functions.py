"""The Lambda functions: one per concern in the design card's folders, sharing one code asset and one
dependency layer built without Docker (infra/cdk/build_assets.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as lambda_event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk.constructs.data import Data
from infra.cdk.constructs.nag import acknowledge
from infra.cdk.constructs.secrets import Secrets, role_of

RUNTIME = lambda_.Runtime.PYTHON_3_13  # build_assets.LAMBDA_PYTHON_VERSION must match
ARCHITECTURE = lambda_.Architecture.ARM_64  # build_assets.LAMBDA_PLATFORM must match
# API Gateway REST integrations time out after 29 s; an API function running longer helps nobody.
API_TIMEOUT = Duration.seconds(29)
# One tenant's start: a claim, the already-exported check (ABAX), StartExecution.
SCHEDULED_START_TIMEOUT = Duration.minutes(2)


@dataclass(frozen=True)
class FunctionsConfig:
    code_dir: Path
    deps_dir: Path
    poweroffice_api_url: str
    poweroffice_token_url: str
    abax_api_url: str
    abax_token_url: str
    abax_scope: str  # ABAX's sandbox (api-test.abax.cloud) wants "open_api.sandbox open_api.sandbox.trips"
    poweroffice_requests_per_second: str
    push_chunk_size: str
    abax_requests_per_window: str = "60"  # ABAX's limit per API client and 60 s, paced across instances
    # The state machine's tasks at once, all companies together (a month end starts hundreds of exports in the
    # same minutes): a step beyond it is throttled and waits in its Retry on Lambda.TooManyRequestsException.
    export_steps_reserved_concurrency: int = 8
    log_level: str = "INFO"
    log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS
    # SES's verified sender identity (an address, or an address in a verified domain) for the e-mails to a
    # company about its scheduled exports; empty: none are sent and no function may send.
    notification_sender: str = ""


class Functions(Construct):
    """activate (API), export_api (API), export_steps and rollback (state machine), pusher (the push queue),
    schedule (daily) and scheduled_start (one per due tenant, from the scheduled-starts queue).

    Each function gets the environment its code path reads and a role that grants exactly that: a secret's
    ARN (or the client keys' prefix) is set only by the grant that lets the role read it.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: FunctionsConfig, data: Data, secrets: Secrets
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._data = data
        self._secrets = secrets
        self.dead_letter_queue = self._dead_letter_queue()
        self.dependencies = self._dependencies()
        self._code = lambda_.Code.from_asset(str(config.code_dir))
        self.environment = self._base_environment()
        self.activate = self._activate()
        self.export_api = self._export_api()
        self.export_steps = self._export_steps()
        self.rollback = self._rollback()
        self.pusher = self._pusher()
        self.scheduled_starts, self.scheduled_starts_dead_letters = self._scheduled_starts_queue()
        self.schedule = self._schedule()
        self.scheduled_start = self._scheduled_start()
        self.reconcile = self._reconcile()
        # Wherever a scheduled export ends or is refused, the company hears of it (workflow/notifications.py).
        for function in (self.export_steps, self.rollback, self.scheduled_start, self.reconcile):
            self._grant_send_notifications(function)

    def _dead_letter_queue(self) -> sqs.Queue:
        """Asynchronous invocations (the daily schedule, the run-ended event) that fail after Lambda's retries, and
        run-ended events EventBridge could not deliver, land here."""
        return sqs.Queue(
            self,
            "AsyncDeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )

    def _dependencies(self) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(self._config.deps_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="abax-payroll third-party packages: aws-lambda-powertools, pydantic, httpx, tzdata",
        )

    def _base_environment(self) -> dict[str, str]:
        """What every function reads; no secret here (the grants add those, see Secrets)."""
        config = self._config
        return {
            "TABLE_NAME": self._data.table.table_name,
            "SNAPSHOT_BUCKET": self._data.snapshots.bucket_name,
            "POWEROFFICE_API_URL": config.poweroffice_api_url,
            "POWEROFFICE_TOKEN_URL": config.poweroffice_token_url,
            "POWEROFFICE_REQUESTS_PER_SECOND": config.poweroffice_requests_per_second,
            "ABAX_API_URL": config.abax_api_url,
            "ABAX_TOKEN_URL": config.abax_token_url,
            "ABAX_SCOPE": config.abax_scope,
            "ABAX_REQUESTS_PER_WINDOW": config.abax_requests_per_window,
            "PUSH_CHUNK_SIZE": config.push_chunk_size,
            "POWERTOOLS_SERVICE_NAME": "abax-payroll",
            "POWERTOOLS_METRICS_NAMESPACE": "AbaxPayroll",
            "POWERTOOLS_LOG_LEVEL": config.log_level,
            # Responses carry salary lines and names: keep them out of X-Ray metadata.
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        }

    def _activate(self) -> lambda_.Function:
        """Confirms a client key with PowerOffice Go (platform keys), or an ABAX API client with ABAX, and stores
        it (the tenant's secret); it reads ABAX with the pair it was given, never a stored one."""
        function = self._function(
            "Activate",
            handler="functions.activate.app.handler",
            description="API: PowerOffice Go integration status, activate, deactivate",
            timeout=API_TIMEOUT,
        )
        self._data.grant_items(role_of(function))
        self._secrets.grant_manage_client_keys(function)
        self._secrets.grant_manage_abax_clients(function)  # connect ABAX: the company's own API client
        self._secrets.grant_read_poweroffice_keys(function)
        return function

    def _export_api(self) -> lambda_.Function:
        """Preview reads ABAX and PowerOffice Go (codes, employees) with the tenant's key; start reads ABAX."""
        function = self._function(
            "ExportApi",
            handler="functions.export.app.handler",
            description="API: payroll codes, rates, schedule, preview, start and list exports",
            timeout=API_TIMEOUT,
            memory_size=512,
        )
        self._data.grant_items(role_of(function))
        self._data.grant_snapshots(role_of(function))  # a search reads ABAX into a snapshot, then its preview
        self._data.grant_read_reports(role_of(function))  # GET /exports/{id}/report (and .csv)
        self._secrets.grant_read_client_keys(function)
        self._secrets.grant_read_poweroffice_keys(function)
        self._secrets.grant_read_abax_clients(function)
        return function

    def _export_steps(self) -> lambda_.Function:
        """Fetch reads ABAX into a snapshot; validate and group read it and PowerOffice Go; push writes to Go."""
        # Lambda's 15 minutes: a Fetch piece reads ABAX for FETCH_SECONDS (10 minutes) at most and leaves the
        # rest for its last call and writes (a chunk waits in the push queue, not here). 1 GB: Validate
        # and Group hold a 300,000-trip month as domain trips (about 110 MB), never as raw JSON.
        function = self._function(
            "ExportSteps",
            handler="functions.export.steps.handler",
            description="State machine tasks: fetch, validate, group, queue a chunk for the pusher, complete, mark failed; searches",
            timeout=Duration.minutes(15),
            memory_size=1024,
            # Bounds the environments a month end runs at once (each export's Fetch, Validate, Group, ...);
            # the state machine retries a throttled step with backoff and jitter, so it waits at no Lambda cost.
            reserved_concurrency=self._config.export_steps_reserved_concurrency,
        )
        self._data.grant_items(role_of(function))
        self._data.grant_snapshots(role_of(function))
        self._data.grant_write_reports(role_of(function))  # Group writes the export's documentation report
        self._secrets.grant_read_client_keys(function)
        self._secrets.grant_read_poweroffice_keys(function)
        self._secrets.grant_read_abax_clients(function)
        return function

    def _pusher(self) -> lambda_.Function:
        """The one pusher: drains the push queue at PowerOffice Go's limit (workflow/push.py). Reserved
        concurrency 1; woken by ExportSteps when it queues a chunk and no pusher drains, and every minute."""
        function = self._function(
            "Pusher",
            handler="functions.export.pusher.handler",
            description="Push queue: create the waiting chunks' salary lines in PowerOffice Go, round-robin",
            timeout=Duration.minutes(15),
            memory_size=512,
            reserved_concurrency=1,
            # A wake-up that finds another pusher draining has nothing to do; the schedule covers a lost one.
            retry_attempts=0,
        )
        self._data.grant_items(role_of(function))
        self._secrets.grant_read_client_keys(function)
        self._secrets.grant_read_poweroffice_keys(function)
        # A waiting chunk wakes it: ExportSteps invokes it asynchronously, by name.
        role_of(self.export_steps).add_to_principal_policy(
            iam.PolicyStatement(
                sid="WakeThePusher", actions=["lambda:InvokeFunction"], resources=[function.function_arn]
            )
        )
        self.export_steps.add_environment("PUSHER_FUNCTION_NAME", function.function_name)
        events.Rule(
            self,
            "PusherSchedule",
            description="abax-payroll: wake the pusher every minute (a pusher that died is replaced)",
            schedule=events.Schedule.rate(Duration.minutes(1)),
            targets=[targets.LambdaFunction(function, retry_attempts=0, max_event_age=Duration.minutes(1))],
        )
        return function

    def _rollback(self) -> lambda_.Function:
        """Deletes salary lines in PowerOffice Go with the tenant's key: never reads ABAX."""
        # Deleting every created line of a large export at the shared rate limit can take minutes.
        function = self._function(
            "Rollback",
            handler="functions.rollback.app.handler",
            description="State machine compensation: delete every salary line an export created",
            timeout=Duration.minutes(15),
        )
        self._data.grant_items(role_of(function))
        # The lines it left in PowerOffice Go, when more than the export record names (reports/ only).
        self._data.grant_write_reports(role_of(function))
        self._secrets.grant_read_client_keys(function)
        self._secrets.grant_read_poweroffice_keys(function)
        return function

    def _schedule(self) -> lambda_.Function:
        """Daily: finds the tenants due (the schedule index only) and queues one start per tenant."""
        function = self._function(
            "Schedule",
            handler="functions.export.schedule.handler",
            description="Daily: queue one start per tenant whose monthly export is due today",
            timeout=Duration.minutes(5),
        )
        self._data.grant_schedule_index(role_of(function))
        # SendMessage only (grant_send_messages adds GetQueueAttributes and GetQueueUrl, which it never calls:
        # it has the queue's URL). The queue is SQS-managed encrypted: no KMS grant.
        role_of(function).add_to_principal_policy(
            iam.PolicyStatement(
                sid="QueueStarts", actions=["sqs:SendMessage"], resources=[self.scheduled_starts.queue_arn]
            )
        )
        function.add_environment("SCHEDULED_STARTS_QUEUE_URL", self.scheduled_starts.queue_url)
        return function

    def _scheduled_starts_queue(self) -> tuple[sqs.Queue, sqs.Queue]:
        """One message per due tenant; a start that keeps failing ends in the dead-letter queue (alarmed)."""
        dead_letters = sqs.Queue(
            self,
            "ScheduledStartsDeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        queue = sqs.Queue(
            self,
            "ScheduledStarts",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # Six times the start function's timeout, as AWS advises for a Lambda event source.
            visibility_timeout=Duration.seconds(SCHEDULED_START_TIMEOUT.to_seconds() * 6),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=3),
        )
        return queue, dead_letters

    def _scheduled_start(self) -> lambda_.Function:
        """One tenant's scheduled start: claims the month, checks ABAX for trips exported before, starts."""
        function = self._function(
            "ScheduledStart",
            handler="functions.export.schedule.start_handler",
            description="Scheduled-starts queue: start one tenant's monthly export per message",
            timeout=SCHEDULED_START_TIMEOUT,
        )
        self._data.grant_items(role_of(function))
        # The already-exported check reads the month's trips from ABAX into a snapshot when the ledger holds
        # trips of the month (issue 21: without it every such month failed with AccessDenied).
        self._data.grant_snapshots(role_of(function))
        self._secrets.grant_read_abax_clients(function)
        function.add_event_source(
            lambda_event_sources.SqsEventSource(
                self.scheduled_starts,
                batch_size=10,
                report_batch_item_failures=True,  # a failing tenant is delivered again alone
                max_concurrency=10,
            )
        )
        return function

    def _reconcile(self) -> lambda_.Function:
        """The reconciliation sweep: the lock index, export records, DescribeExecution (Workflow grants it).

        An export whose run was stopped while it pushed is ended naming the lines PowerOffice Go holds under
        its references (workflow/ended.py, as the run-ended rule's ExportSteps does): the sweep lists them
        with the tenant's client key and the platform's keys, and keeps a left-behind list longer than the
        record holds in reports/. Without these a lost event of such a run left its export RUNNING for ever
        (AccessDenied on the client key; found by the chaos harness's lost events)."""
        function = self._function(
            "Reconcile",
            handler="functions.export.reconcile.handler",
            description="Every 10 minutes: end exports whose run ended unseen or never started",
            timeout=Duration.minutes(5),
        )
        self._data.grant_items(role_of(function), query_schedule_index=True)
        self._secrets.grant_read_client_keys(function)
        self._secrets.grant_read_poweroffice_keys(function)
        self._data.grant_write_reports(role_of(function))
        return function

    def _grant_send_notifications(self, function: lambda_.Function) -> None:
        """ses:SendEmail from the configured sender only (its address identity, or its domain's)."""
        sender = self._config.notification_sender
        if not sender:
            return
        stack = Stack.of(self)
        domain = sender.rsplit("@", 1)[-1]
        function.add_environment("NOTIFICATION_SENDER", sender)
        role_of(function).add_to_principal_policy(
            iam.PolicyStatement(
                sid="SendNotifications",
                actions=["ses:SendEmail"],
                resources=[
                    stack.format_arn(service="ses", resource="identity", resource_name=name)
                    for name in dict.fromkeys((sender, domain))
                ],
                conditions={"StringEquals": {"ses:FromAddress": sender}},
            )
        )

    def set_web_app_url(self, url: str) -> None:
        """The web app's address, for the link to the export in an e-mail (known once the site exists)."""
        if self._config.notification_sender:
            for function in (self.export_steps, self.rollback, self.scheduled_start, self.reconcile):
                function.add_environment("WEB_APP_URL", url)

    @property
    def all(self) -> dict[str, lambda_.Function]:
        return {
            "Activate": self.activate,
            "ExportApi": self.export_api,
            "ExportSteps": self.export_steps,
            "Rollback": self.rollback,
            "Pusher": self.pusher,
            "Schedule": self.schedule,
            "ScheduledStart": self.scheduled_start,
            "Reconcile": self.reconcile,
        }

    def _function(
        self,
        name: str,
        *,
        handler: str,
        description: str,
        timeout: Duration,
        memory_size: int = 256,
        reserved_concurrency: int | None = None,
        retry_attempts: int = 2,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            self, f"{name}Logs", retention=self._config.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        # Our own role instead of AWSLambdaBasicExecutionRole: logs go to this function's log group only.
        role = iam.Role(
            self,
            f"{name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"abax-payroll {name} function",
        )
        log_group.grant_write(role)
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            reason="Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
            "permissions (https://docs.aws.amazon.com/xray/latest/devguide/security_iam_service-with-iam.html).",
        )
        function = lambda_.Function(
            self,
            name,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=self._code,
            layers=[self.dependencies],
            description=description,
            timeout=timeout,
            memory_size=memory_size,
            role=role,
            environment=dict(self.environment),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel(self._config.log_level),
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            # Asynchronous invocations (the daily schedule, the run-ended event): Lambda retries a function error
            # twice (its maximum; about 1 and 2 minutes later), then the dead-letter queue.
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=retry_attempts,
            reserved_concurrent_executions=reserved_concurrency,
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            reason="Python 3.13 on purpose: the dependency layer is built for cp313 (build_assets.LAMBDA_PYTHON_VERSION). "
            "Moving to a newer runtime changes both together, after the pinned wheels are checked for it.",
        )
        return function
