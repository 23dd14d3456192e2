"""DynamoDB and Secrets Manager: the only code that calls boto3."""

from .dynamo import PayrollStore
from .secrets import ClientKeyVault

__all__ = ["ClientKeyVault", "PayrollStore"]
