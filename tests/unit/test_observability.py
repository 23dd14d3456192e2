"""Tracing: Lambda's active tracing by default; powertools subsegments only when asked (they cost cold start)."""

import json
import subprocess
import sys


def _tracer_kind(env: dict[str, str]) -> str:
    code = "from abax_payroll.observability import tracer; import sys; print(type(tracer).__name__, 'aws_xray_sdk' in sys.modules)"
    return subprocess.run(
        [sys.executable, "-c", code], env={**env, "PATH": ""}, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_no_xray_sdk_is_loaded_unless_subsegments_are_asked_for():
    assert _tracer_kind({}) == "_InvocationTracing False"
    assert _tracer_kind({"TRACE_SUBSEGMENTS": "true", "POWERTOOLS_TRACE_DISABLED": "true"}).startswith(
        "Tracer "
    )


def test_the_clients_log_lines_carry_the_export_and_tenant_ids():
    """The PowerOffice and ABAX clients log through children of the powertools logger, so their lines carry
    the keys a handler appends (export id as correlation id, tenant id) in the same JSON shape."""
    import json
    import logging

    from abax_payroll.abax import client as abax_client
    from abax_payroll.observability import logger
    from abax_payroll.poweroffice import client as poweroffice_client

    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    collect = Collect()
    collect.setFormatter(logger.registered_formatter)
    logger.addHandler(collect)
    logger.append_keys(tenant_id="acme")
    logger.set_correlation_id("20261101T000000000Z-0000beef")
    try:
        poweroffice_client.logger.warning("salary line answer late")
        abax_client.logger.warning("trips page retried")
    finally:
        logger.removeHandler(collect)
        logger.remove_keys(["tenant_id"])
        logger.set_correlation_id(None)
    logged = [json.loads(line) for line in lines]
    assert [entry["message"] for entry in logged] == ["salary line answer late", "trips page retried"]
    for entry in logged:
        assert entry["tenant_id"] == "acme" and entry["correlation_id"] == "20261101T000000000Z-0000beef"


def test_the_state_machines_control_flow_is_counted_apart_from_faults():
    """The ExportSteps alarm subtracts ExportStepsControlFlow from the function's errors (infra monitoring.py):
    a superseded run is counted, a real fault is not; both still fail the invocation."""
    code = """
import json, sys
from abax_payroll.errors import ExportValidationFailed, RunSuperseded
from abax_payroll.observability import count_control_flow, metrics

@metrics.log_metrics
@count_control_flow
def handler(event, context):
    raise {"superseded": RunSuperseded, "problems": ExportValidationFailed, "fault": KeyError}[event]("x")

raised = 0
for event in ("superseded", "problems", "fault"):
    try:
        handler(event, None)
    except Exception:
        raised += 1
print("raised", raised, file=sys.stderr)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], env={"PATH": ""}, capture_output=True, text=True, check=True
    )
    flushed = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [entry.get("ExportStepsControlFlow") for entry in flushed] == [[1.0], [1.0]], result.stdout
    assert "raised 3" in result.stderr
