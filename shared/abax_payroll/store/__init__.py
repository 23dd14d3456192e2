"""DynamoDB, Secrets Manager and Step Functions: the only code that calls boto3.

The one table is kept in rooms, each the only code that knows its items' key layout:
tenant configuration, exports and the tenant's export lock, line chunks and created ids, the ledger, leases,
the request windows of API clients (pacing), each company's share of the API (quotas), the chunks waiting for
the pusher (push queue), and the snapshots of ABAX's answers (their pages in S3); the documentation reports are
S3 objects.
"""

from __future__ import annotations

from .executions import ExportRuns, StepFunctionsRuns
from .exports import ExportStore
from .leases import LeaseStore
from .ledger import LedgerStore
from .lines import LineStore
from .mail import Mailer, SesMailer
from .pacing import PacingStore
from .push_queue import PusherNudge, PushQueue
from .quotas import QuotaStore
from .reports import ReportStore
from .secrets import ClientKeyVault
from .snapshots import SnapshotStore
from .starts import ScheduledStarts, SqsScheduledStarts
from .table import Table, now_iso
from .tenants import TenantStore


class PayrollStore:
    """The table's rooms, sharing one connection per thread."""

    def __init__(self, table_name: str, snapshot_bucket: str = ""):
        self.table = Table(table_name)
        self.snapshots = SnapshotStore(self.table, snapshot_bucket)
        self.tenants = TenantStore(self.table)
        self.exports = ExportStore(self.table)
        self.lines = LineStore(self.table)
        self.reports = ReportStore(snapshot_bucket)
        self.ledger = LedgerStore(self.table)
        self.leases = LeaseStore(self.table)
        self.pacing = PacingStore(self.table)
        self.quotas = QuotaStore(self.table)
        self.push_queue = PushQueue(self.table)


__all__ = [
    "ClientKeyVault",
    "ExportRuns",
    "ExportStore",
    "LedgerStore",
    "LeaseStore",
    "LineStore",
    "Mailer",
    "PacingStore",
    "PayrollStore",
    "QuotaStore",
    "PushQueue",
    "PusherNudge",
    "ReportStore",
    "ScheduledStarts",
    "SesMailer",
    "SqsScheduledStarts",
    "SnapshotStore",
    "StepFunctionsRuns",
    "TenantStore",
    "now_iso",
]
