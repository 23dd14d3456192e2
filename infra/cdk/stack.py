"""The export service's stack: composes the constructs, nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.cdk.constructs.api import Api, ApiConfig
from infra.cdk.constructs.data import Data
from infra.cdk.constructs.functions import Functions, FunctionsConfig
from infra.cdk.constructs.monitoring import Monitoring
from infra.cdk.constructs.schedule import DailySchedule, ReconciliationSweep
from infra.cdk.constructs.secrets import Secrets
from infra.cdk.constructs.web import Web
from infra.cdk.constructs.workflow import Workflow


@dataclass(frozen=True)
class StackSettings:
    functions: FunctionsConfig
    api: ApiConfig
    client_key_secret_prefix: str
    poweroffice_keys_secret_name: str
    abax_client_secret_prefix: str
    schedule_hour: int = 6
    alarm_email: str | None = None


class AbaxPayrollStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: StackSettings, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.data = Data(self, "Data")
        self.secrets = Secrets(
            self,
            "Secrets",
            client_key_secret_prefix=settings.client_key_secret_prefix,
            poweroffice_keys_secret_name=settings.poweroffice_keys_secret_name,
            abax_client_secret_prefix=settings.abax_client_secret_prefix,
        )
        self.functions = Functions(
            self, "Functions", config=settings.functions, data=self.data, secrets=self.secrets
        )
        self.workflow = Workflow(
            self,
            "Workflow",
            export_steps=self.functions.export_steps,
            rollback=self.functions.rollback,
            log_retention=settings.functions.log_retention,
        )
        # Only these two start exports: the API (manual) and the scheduled start (one per due tenant).
        self.workflow.grant_pusher(self.functions.pusher)
        self.workflow.grant_start(self.functions.export_api)
        self.workflow.grant_start(self.functions.scheduled_start)
        # A run stopped in the console or timed out: its export is recorded as ended (workflow/ended.py).
        self.workflow.route_ended_runs(self.functions.export_steps, self.functions.dead_letter_queue)
        # And every 10 minutes a sweep ends what that rule missed (a lost event, a start that died).
        self.workflow.grant_describe_runs(self.functions.reconcile)
        # The web app's bucket and distribution come before the API: its CORS origins and the hosted-UI
        # callback URLs name the distribution; the content (with config.json naming the API) comes after.
        self.web = Web(self, "Web", log_retention=settings.functions.log_retention)
        self.functions.set_web_app_url(self.web.url)
        self.api = Api(
            self,
            "Api",
            config=settings.api,
            activate=self.functions.activate,
            export_api=self.functions.export_api,
            web_origin=self.web.origin,
        )
        self.web.deploy(
            api_url=self.api.base_url,
            cognito_domain_url=self.api.domain.base_url() if self.api.domain is not None else None,
            client_id=self.api.web_client.user_pool_client_id if self.api.web_client is not None else None,
        )
        self.schedule = DailySchedule(
            self,
            "Schedule",
            function=self.functions.schedule,
            dead_letter_queue=self.functions.dead_letter_queue,
            hour=settings.schedule_hour,
        )
        self.reconciliation = ReconciliationSweep(
            self,
            "Reconciliation",
            function=self.functions.reconcile,
            dead_letter_queue=self.functions.dead_letter_queue,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            functions=self.functions.all,
            state_machine=self.workflow.state_machine,
            rest_api=self.api.rest_api,
            table=self.data.table,
            dead_letter_queues={
                "Async": self.functions.dead_letter_queue,
                "ScheduledStarts": self.functions.scheduled_starts_dead_letters,
            },
            alarm_email=settings.alarm_email or "",
        )

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the API (ends in /v1/)")
        CfnOutput(
            self,
            "WebUrl",
            value=self.web.url,
            description="The web app (CloudFront); its config.json is generated at deploy",
        )
        CfnOutput(self, "WebBucketName", value=self.web.bucket.bucket_name)
        CfnOutput(self, "UserPoolId", value=self.api.user_pool.user_pool_id)
        if self.api.web_client is not None and self.api.domain is not None:
            CfnOutput(self, "WebClientId", value=self.api.web_client.user_pool_client_id)
            CfnOutput(
                self,
                "CognitoDomainUrl",
                value=self.api.domain.base_url(),
                description="config.json cognito.domain",
            )
        CfnOutput(
            self,
            "StateMachineArn",
            value=self.workflow.state_machine.state_machine_arn,
            description="Export executions (execution name = export id) in the Step Functions console",
        )
        CfnOutput(self, "TableName", value=self.data.table.table_name)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(self, "DashboardName", value=self.monitoring.dashboard.dashboard_name)
