"""Tracing: Lambda's active tracing by default; powertools subsegments only when asked (they cost cold start)."""

import subprocess
import sys


def _tracer_kind(env: dict[str, str]) -> str:
    code = "from abax_payroll.observability import tracer; import sys; print(type(tracer).__name__, 'aws_xray_sdk' in sys.modules)"
    return subprocess.run([sys.executable, "-c", code], env={**env, "PATH": ""}, capture_output=True, text=True, check=True).stdout.strip()


def test_no_xray_sdk_is_loaded_unless_subsegments_are_asked_for():
    assert _tracer_kind({}) == "_InvocationTracing False"
    assert _tracer_kind({"TRACE_SUBSEGMENTS": "true", "POWERTOOLS_TRACE_DISABLED": "true"}).startswith("Tracer ")
