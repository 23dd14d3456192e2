"""One Logger, Tracer and Metrics for the whole library; correlation id = export id; no secrets, no personal data."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "abax-payroll"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="AbaxPayroll", service=SERVICE)

# botocore's DEBUG records carry whole request and response bodies: Secrets Manager's SecretString,
# that is the tenants' PowerOffice Go client keys. A function whose log level is set to DEBUG (Lambda's
# advanced logging controls set the root logger's level) must not print them, so the AWS SDK's loggers
# keep their own level; set it here, deliberately, to debug the SDK itself.
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.INFO)
