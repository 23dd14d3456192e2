"""One Logger, Tracer and Metrics for the whole library; correlation id = export id; no secrets, no personal data."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "abax-payroll"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="AbaxPayroll", service=SERVICE)
