"""The daily trigger of scheduled monthly exports: EventBridge Scheduler runs the schedule handler each
morning (Europe/Oslo); the handler picks the tenants whose day of the month it is."""

from __future__ import annotations

from aws_cdk import Duration, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk.constructs.nag import acknowledge


def _scheduler_role(scope: Construct, function: lambda_.IFunction, what: str) -> iam.Role:
    """The role EventBridge Scheduler assumes (this account only) to invoke `function`, `what` naming it."""
    role = iam.Role(
        scope,
        "InvokeRole",
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
        ),
        description=f"abax-payroll: EventBridge Scheduler invokes the {what}",
    )
    acknowledge(
        role,
        f"AwsSolutions-IAM5[Resource::<{Stack.of(scope).get_logical_id(function.node.default_child)}.Arn>:*]",
        reason=f"The Scheduler target grants invoke on the {what} and its versions (Function.grantInvoke); "
        "the wildcard covers only that one function's qualifiers.",
    )
    return role


class DailySchedule(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        hour: int = 6,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = _scheduler_role(self, function, "schedule function")
        self.target = targets.LambdaInvoke(
            function,
            input=scheduler.ScheduleTargetInput.from_object(
                # The intended run time, so a retried or late invocation still picks the right day.
                {
                    "source": "abax-payroll.schedule",
                    "scheduled_time": scheduler.ContextAttribute.scheduled_time,
                }
            ),
            retry_attempts=3,
            max_event_age=Duration.hours(2),
            dead_letter_queue=dead_letter_queue,
            role=self.role,
        )
        self.schedule = scheduler.Schedule(
            self,
            "Daily",
            description="abax-payroll: start the scheduled monthly exports due today",
            schedule=scheduler.ScheduleExpression.cron(
                minute="0", hour=str(hour), time_zone=TimeZone.of("Europe/Oslo")
            ),
            time_window=scheduler.TimeWindow.off(),
            target=self.target,
        )


class ReconciliationSweep(Construct):
    """Every 10 minutes EventBridge Scheduler runs the reconciliation sweep (workflow/reconcile.py): no export
    stays RUNNING because a run-ended event was lost or a start died before StartExecution."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        every_minutes: int = 10,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = _scheduler_role(self, function, "reconciliation sweep")
        self.schedule = scheduler.Schedule(
            self,
            "Every10Minutes",
            description="abax-payroll: end exports whose run ended unseen or never started",
            schedule=scheduler.ScheduleExpression.rate(Duration.minutes(every_minutes)),
            time_window=scheduler.TimeWindow.off(),
            target=targets.LambdaInvoke(
                function,
                input=scheduler.ScheduleTargetInput.from_object({"source": "abax-payroll.reconcile"}),
                # The next sweep comes in 10 minutes: a late one is worth nothing.
                retry_attempts=0,
                max_event_age=Duration.minutes(10),
                dead_letter_queue=dead_letter_queue,
                role=self.role,
            ),
        )
