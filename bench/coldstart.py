"""Figure 4: a fresh interpreter importing each Lambda handler module, against one importing boto3 alone."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = (
    "functions.activate.app",
    "functions.export.app",
    "functions.export.steps",
    "functions.export.schedule",
    "functions.rollback.app",
)
BASELINE = "boto3"
# What a deployed function has in its environment at import time (values do not matter for importing).
LAMBDA_ENV = {
    "TABLE_NAME": "abax-payroll",
    "AWS_DEFAULT_REGION": "eu-north-1",
    "AWS_REGION": "eu-north-1",
    "POWERTOOLS_SERVICE_NAME": "abax-payroll",
    "POWERTOOLS_METRICS_NAMESPACE": "AbaxPayroll",
    "POWEROFFICE_KEYS_SECRET_ARN": "arn:aws:secretsmanager:eu-north-1:123456789012:secret:po",
    "ABAX_CREDENTIALS_SECRET_ARN": "arn:aws:secretsmanager:eu-north-1:123456789012:secret:abax",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
}
PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(module: str) -> float:
    """Seconds `import module` takes in a new interpreter (interpreter start-up itself not counted)."""
    env = {**os.environ, **LAMBDA_ENV, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return float(out.strip().splitlines()[-1])


def measure(runs: int = 7) -> dict[str, Any]:
    samples: dict[str, list[float]] = {name: [] for name in (BASELINE, *HANDLERS)}
    for name in samples:  # warm the bytecode caches once
        import_seconds(name)
    for _ in range(runs):  # interleaved, so the machine's load hits every module alike
        for name in samples:
            samples[name].append(import_seconds(name))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    ratios = {name: medians[name] / medians[BASELINE] for name in HANDLERS}
    worst = max(ratios, key=lambda name: ratios[name])
    return {"medians": medians, "ratios": ratios, "worst": worst, "ratio": ratios[worst], "runs": runs}


if __name__ == "__main__":
    print(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
