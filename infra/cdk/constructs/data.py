"""The one DynamoDB table (exports, mappings, rates, schedules, integration state, rate-limit leases)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

SCHEDULE_INDEX = "gsi1"

# What every function may do with items. No Scan, no table management.
ITEM_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
]
# What a caller needs on the table's customer-managed key (DynamoDB calls KMS on its behalf).
TABLE_KEY_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]


class Data(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "TableKey",
            description="abax-payroll: DynamoDB table (export records, payroll codes, rates, schedules)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
        )
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            time_to_live_attribute="expires_at",
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The schedule handler finds the tenants whose monthly export runs on a given day.
        self.table.add_global_secondary_index(
            index_name=SCHEDULE_INDEX,
            partition_key=dynamodb.Attribute(name="gsi1pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="gsi1sk", type=dynamodb.AttributeType.STRING),
        )

    @property
    def schedule_index_arn(self) -> str:
        return f"{self.table.table_arn}/index/{SCHEDULE_INDEX}"

    def grant_schedule_index(self, role: iam.IRole) -> None:
        """Query the schedule index only (the daily run finds the tenants due; it reads no other item)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="ScheduleIndexQuery", actions=["dynamodb:Query"], resources=[self.schedule_index_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="TableKey", actions=["kms:Decrypt"], resources=[self.key.key_arn])
        )

    def grant_items(self, role: iam.IRole, *, query_schedule_index: bool = False) -> None:
        """Item reads and writes on this table only (plus Query on the schedule index when asked)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="TableItems", actions=ITEM_ACTIONS, resources=[self.table.table_arn])
        )
        if query_schedule_index:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ScheduleIndexQuery", actions=["dynamodb:Query"], resources=[self.schedule_index_arn]
                )
            )
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="TableKey", actions=TABLE_KEY_ACTIONS, resources=[self.key.key_arn])
        )
