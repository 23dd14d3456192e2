"""Tracing: Lambda's active tracing by default; powertools subsegments only when asked (they cost cold start)."""

import json
import os
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


def _counted(code: str) -> list[dict]:
    """The UnexpectedErrors records a script flushes, run in a process of its own: powertools' metrics are one
    set per process, which the local stack's handlers (on other threads of a test worker) flush too."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "", "PYTHONPATH": os.pathsep.join(sys.path), "AWS_DEFAULT_REGION": "eu-north-1"},
        capture_output=True,
        text=True,
        check=True,
    )
    flushed = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return [entry for entry in flushed if "UnexpectedErrors" in entry]


def test_a_fault_is_counted_by_cause_and_the_state_machines_control_flow_is_not():
    """The operators' alarm reads UnexpectedErrors (infra monitoring.py), counted when the error happens: a
    KeyError in a step is; validation problems, a changed source, a superseded run or a run still pushing
    (control flow the ASL or EventBridge branches on) is not. Every one still fails the invocation."""
    counted = _counted("""
from abax_payroll.errors import STEP_OUTCOMES, ExportValidationFailed, RunSuperseded, SourceChanged
from abax_payroll.observability import count_unexpected_errors, metrics
from abax_payroll.workflow.ended import RunStillPushing

@metrics.log_metrics
@count_unexpected_errors(expected=STEP_OUTCOMES)
def handler(event, context):
    raise {
        "problems": ExportValidationFailed,
        "changed": SourceChanged,
        "superseded": RunSuperseded,
        "pushing": RunStillPushing,
        "fault": KeyError,
    }[event]("x")

raised = 0
for event in ("problems", "changed", "superseded", "pushing", "fault"):
    try:
        handler(event, None)
    except Exception:
        raised += 1
assert raised == 5
""")
    by_dimensions = {
        tuple(sorted(entry["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0])): entry for entry in counted
    }
    assert set(by_dimensions) == {("service",), ("cause", "service")}, counted
    assert by_dimensions[("cause", "service")]["cause"] == "KeyError"
    assert all(entry["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "AbaxPayroll" for entry in counted)
    assert [entry["UnexpectedErrors"] for entry in counted] == [[1.0], [1.0]]


def test_the_export_steps_handler_counts_what_no_state_of_its_machine_branches_on():
    """The deployed handler's own list: an unknown step (a bug) is counted, validation problems are not."""
    counted = _counted("""
from abax_payroll.errors import ExportValidationFailed
from functions.export import steps as handler_module

def problems(*_args, **_kwargs):
    raise ExportValidationFailed("two trips without a rate")

handler_module.steps.validate = problems
handler_module.services = lambda: None
context = type("Context", (), {"function_name": "steps", "memory_limit_in_mb": 128,
                                "invoked_function_arn": "arn", "aws_request_id": "1"})()
for step, error in (("validate", ExportValidationFailed), ("no-such-step", ValueError)):
    try:
        handler_module.handler({"step": step, "tenant_id": "acme", "export_id": "e1"}, context)
    except error:
        pass
    else:
        raise AssertionError(step)
""")
    assert [entry.get("cause") for entry in counted if "cause" in entry] == ["ValueError"]
    assert len(counted) == 2
