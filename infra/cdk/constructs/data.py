"""The one DynamoDB table (exports, mappings, rates, schedules, integration state, rate-limit leases), and the
bucket for what outgrows its 400 KB items (ABAX's answers for an export or a search, under snapshots/, for days;
the exports' documentation reports, under reports/, kept)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.cdk.constructs.nag import acknowledge

SCHEDULE_INDEX = "gsi1"

# What every function may do with items. No Scan, no table management.
ITEM_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    # A fenced write (TransactWriteItems) checks the export record's run beside the item it writes: a stopped
    # run never writes again (ExportStore.fence).
    "dynamodb:ConditionCheckItem",
]
# What a caller needs on the table's customer-managed key (DynamoDB calls KMS on its behalf), through DynamoDB
# only (kms:ViaService): the key is no key for the role's own KMS calls.
TABLE_KEY_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
SNAPSHOT_PREFIX = "snapshots/"
# Trip data is personal data: an export reads its snapshot within hours, a search reuses one for minutes.
SNAPSHOT_DAYS = 7
# The documentation reports (skattebetalingsforskriften § 5-6-12): the employer keeps them for years, so the
# objects under reports/ have no expiry rule (only snapshots/ expires).
REPORT_PREFIX = "reports/"


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

        self.snapshots = self._build_snapshot_bucket()

    def _build_snapshot_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "Snapshots",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,  # one KMS call per object batch, not per request
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireSnapshots", prefix=SNAPSHOT_PREFIX, expiration=Duration.days(SNAPSHOT_DAYS)
                ),
                s3.LifecycleRule(id="AbortUploads", abort_incomplete_multipart_upload_after=Duration.days(1)),
            ],
            # The reports are the employer's documentation for years: a stack deletion keeps the bucket.
            removal_policy=RemovalPolicy.RETAIN,
            auto_delete_objects=False,
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            reason="Working copies of ABAX answers (gone after "
            f"{SNAPSHOT_DAYS} days) and the exports' documentation reports, written and read only by the export "
            "functions; the functions' own logs and X-Ray record every access.",
        )
        return bucket

    def _via(self, service: str) -> dict[str, dict[str, str]]:
        """The key used on the role's behalf by `service` only (the table and the bucket share the key)."""
        return {"StringEquals": {"kms:ViaService": f"{service}.{Stack.of(self).region}.amazonaws.com"}}

    def grant_bucket_key(self, role: iam.IRole, *, write: bool) -> None:
        """S3 encrypts (GenerateDataKey) and decrypts the bucket's objects with the key on the caller's behalf.
        Every grant on the bucket's objects needs it: the table's key grant (grant_items) works through
        DynamoDB only."""
        actions = ["kms:Decrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="BucketKeyWrite" if write else "BucketKeyRead",
                actions=actions,
                resources=[self.key.key_arn],
                conditions=self._via("s3"),
            )
        )

    def grant_snapshots(self, role: iam.IRole) -> None:
        """Read, write and delete snapshot objects, and list under their prefix; nothing else in the bucket."""
        self.grant_bucket_key(role, write=True)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SnapshotObjects",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[self.snapshots.arn_for_objects(f"{SNAPSHOT_PREFIX}*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SnapshotList",
                actions=["s3:ListBucket"],
                resources=[self.snapshots.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{SNAPSHOT_PREFIX}*"]}},
            )
        )
        stack = Stack.of(self)
        bucket_id = stack.resolve(stack.get_logical_id(self.snapshots.node.default_child))  # type: ignore[arg-type]
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{SNAPSHOT_PREFIX}*]",
            reason="The snapshot objects of every export and search (one per ABAX call) under their prefix only; "
            "their keys are made at run time from tenant and export ids.",
        )

    def _acknowledge_report_objects(self, role: iam.IRole) -> None:
        stack = Stack.of(self)
        bucket_id = stack.resolve(stack.get_logical_id(self.snapshots.node.default_child))  # type: ignore[arg-type]
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{REPORT_PREFIX}*]",
            reason="The documentation report of every export (one object each) under its prefix only; "
            "their keys are made at run time from tenant and export ids.",
        )

    def grant_write_reports(self, role: iam.IRole) -> None:
        """Write documentation reports (Group); no read, no delete, nothing outside reports/."""
        self.grant_bucket_key(role, write=True)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReportWrite",
                actions=["s3:PutObject"],
                resources=[self.snapshots.arn_for_objects(f"{REPORT_PREFIX}*")],
            )
        )
        self._acknowledge_report_objects(role)

    def grant_read_reports(self, role: iam.IRole) -> None:
        """Read documentation reports (the API); no write, no list, nothing outside reports/."""
        self.grant_bucket_key(role, write=False)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReportRead",
                actions=["s3:GetObject"],
                resources=[self.snapshots.arn_for_objects(f"{REPORT_PREFIX}*")],
            )
        )
        self._acknowledge_report_objects(role)

    @property
    def schedule_index_arn(self) -> str:
        return f"{self.table.table_arn}/index/{SCHEDULE_INDEX}"

    def grant_schedule_index(self, role: iam.IRole) -> None:
        """Query the schedule index only (the daily run finds the tenants due; it reads no other item)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ScheduleIndexQuery", actions=["dynamodb:Query"], resources=[self.schedule_index_arn]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="TableKey",
                actions=["kms:Decrypt"],
                resources=[self.key.key_arn],
                conditions=self._via("dynamodb"),
            )
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
            iam.PolicyStatement(
                sid="TableKey",
                actions=TABLE_KEY_ACTIONS,
                resources=[self.key.key_arn],
                conditions=self._via("dynamodb"),
            )
        )
