"""The export saga: a Standard state machine built from the same ASL file the local stack runs."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.cdk.constructs.nag import acknowledge
from infra.cdk.constructs.secrets import role_of

ASL_FILE = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "abax_payroll"
    / "workflow"
    / "export_state_machine.asl.json"
)


class Workflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        export_steps: lambda_.IFunction,
        rollback: lambda_.IFunction,
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            # The vendedlogs prefix keeps the account's CloudWatch Logs resource policy small.
            log_group_name=f"/aws/vendedlogs/states/{Stack.of(self).stack_name}-export",
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "ExportStateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            # Inline (not an S3 asset), so the template itself holds the definition that the local stack runs.
            definition_body=sfn.DefinitionBody.from_string(ASL_FILE.read_text()),
            definition_substitutions={
                "ExportStepsFunctionArn": export_steps.function_arn,
                "RollbackFunctionArn": rollback.function_arn,
            },
            comment="ABAX to PowerOffice Go export; execution name = export id",
            tracing_enabled=True,
            # Execution input and output hold salary lines and employee names: log the events, not the data.
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        # The ASL invokes the unqualified function ARNs, so exactly those, no version wildcard.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                sid="InvokeExportTasks",
                actions=["lambda:InvokeFunction"],
                resources=[export_steps.function_arn, rollback.function_arn],
            )
        )

        acknowledge(
            self.state_machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            reason="Execution logging needs logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, "
            "ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups, and tracing needs "
            "xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets: none of them supports "
            "resource-level permissions (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).",
        )

    def grant_pusher(self, pusher: lambda_.Function) -> None:
        """The pusher answers the chunks' waiting tasks (SendTaskSuccess/Failure/Heartbeat) and reads whether a
        chunk's run still runs (DescribeExecution) before and while it pushes it. A policy of its own, not the
        role's default one: the function must not depend on the state machine, whose tasks wake it."""
        stack = Stack.of(self)
        executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{self.state_machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        policy = iam.Policy(
            self,
            "PusherAnswersRuns",
            roles=[pusher.role],  # type: ignore[list-item]
            statements=[
                iam.PolicyStatement(
                    sid="AnswerWaitingChunks",
                    actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
                    resources=[self.state_machine.state_machine_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadRuns", actions=["states:DescribeExecution"], resources=[executions]
                ),
            ],
        )
        machine = stack.get_logical_id(self.state_machine.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::arn:aws:states:{stack.region}:{stack.account}:execution:<{machine}.Name>:*]",
            reason="DescribeExecution of this state machine's executions only (their names are export ids).",
        )

    def grant_start(self, function: lambda_.Function) -> None:
        """Let a function start exports, and tell it which state machine to start."""
        self.state_machine.grant_start_execution(function)
        function.add_environment("STATE_MACHINE_ARN", self.state_machine.state_machine_arn)

    def grant_describe_runs(self, function: lambda_.Function) -> None:
        """Let a function read how the export runs ended (DescribeExecution), and tell it the state machine."""
        stack = Stack.of(self)
        # Pseudo-parameters: the ARN (and the cdk-nag finding that names it) is the same in every environment.
        executions = f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:execution:"
        function.add_to_role_policy(
            iam.PolicyStatement(
                sid="DescribeExportRuns",
                actions=["states:DescribeExecution"],
                resources=[f"{executions}{self.state_machine.state_machine_name}:*"],
            )
        )
        machine = stack.get_logical_id(self.state_machine.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            role_of(function),
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f"<{stack.resolve(machine)}.Name>:*]",
            reason="The executions of this one state machine (their names are export ids, made at run time).",
        )
        function.add_environment("STATE_MACHINE_ARN", self.state_machine.state_machine_arn)

    def route_ended_runs(self, function: lambda_.IFunction, dead_letter_queue: sqs.IQueue) -> events.Rule:
        """A run that ends without its Catch (stopped in the console, past TimeoutSeconds, a States.Runtime
        error) leaves its export RUNNING and the company's slot taken: EventBridge tells `function`, which
        records the end (shared/abax_payroll/workflow/ended.py).

        Two retry policies apply, one after the other. The target's (185 attempts over 24 h) covers only
        delivering the event to Lambda, when Lambda does not accept the asynchronous invocation (throttled, an
        AWS fault). Once accepted, a function error (RunStillPushing while the pusher still pushes a chunk of the
        stopped run, RunStillDeleting while its rollback may still delete) is retried by Lambda's own asynchronous retries as the function sets them (Functions:
        retry_attempts=2, about 1 and 2 minutes later), then it goes to `dead_letter_queue` (alarmed). An export
        still RUNNING after that is ended by the reconciliation sweep."""
        return events.Rule(
            self,
            "RunEnded",
            description="abax-payroll: record an export run that ended outside its state machine's Catch",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": [self.state_machine.state_machine_arn],
                    "status": ["ABORTED", "TIMED_OUT", "FAILED"],
                },
            ),
            targets=[
                targets.LambdaFunction(
                    function,
                    dead_letter_queue=dead_letter_queue,  # events EventBridge could not deliver
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
