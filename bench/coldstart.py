"""Figure 4: a fresh interpreter importing each Lambda handler module, against one importing boto3 alone (CPU time)."""

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
    "functions.export.reconcile",
    "functions.export.pusher",
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
# The deployed function's package holds the runtime dependencies of pyproject.toml (and the runtime's boto3),
# not this venv's dev tools: httpx, for one, imports click, rich and pygments (its CLI) whenever they are
# installed. The probe hides every top-level module outside that closure, so the import is the deployed one.
PROBE = """
import sys, importlib.abc
allowed = set({allowed!r}) | set(sys.stdlib_module_names)
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in allowed and not name.startswith("_"):
            raise ModuleNotFoundError(f"No module named {{name!r}} (not in the Lambda package)", name=name)
        return None
sys.meta_path.insert(0, Hide())
import time
t = time.process_time()
import {module}
print(time.process_time() - t)
"""


def lambda_modules() -> list[str]:
    """Top-level modules of abax-payroll's runtime dependency closure (no extras), boto3's, and our own code."""
    import importlib.metadata as metadata
    import re

    wanted, seen = ["abax-payroll", "boto3"], set()
    while wanted:
        name = re.sub(r"[-_.]+", "-", wanted.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        extras = {"tracer"} if name == "aws-lambda-powertools" else set()
        for requirement in requirements:
            spec, _, marker = requirement.partition(";")
            if "extra" in marker and not any(
                f'"{extra}"' in marker or f"'{extra}'" in marker for extra in extras
            ):
                continue
            if "python_version" in marker or "platform" in marker or "sys_platform" in marker:
                from packaging.markers import Marker

                if not Marker(marker.strip()).evaluate({"extra": next(iter(extras), "")}):
                    continue
            wanted.append(re.split(r"[\s\[<>=!~;(]", spec.strip(), maxsplit=1)[0])
    modules = {"abax_payroll", "functions"}
    for module, distributions in metadata.packages_distributions().items():
        if any(re.sub(r"[-_.]+", "-", d).lower() in seen for d in distributions):
            modules.add(module)
    return sorted(modules)


_ALLOWED: list[str] | None = None
_CODE: Path | None = None


def deployed_code() -> Path:
    """The function package as the CDK app builds it (with bytecode for this interpreter), imported from
    its own directory like /var/task, not through this checkout's editable install (whose finder alone
    cost ~15 ms per import that Lambda never pays)."""
    global _CODE
    if _CODE is None:
        import tempfile

        from infra.cdk import build_assets

        out = Path(tempfile.mkdtemp(prefix="abax-payroll-coldstart-"))
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        build_assets.LAMBDA_PYTHON_VERSION = version  # bytecode for the interpreter that measures
        _CODE = build_assets.build_code(out)
    return _CODE


def import_seconds(module: str) -> float:
    """CPU seconds `import module` takes in a new interpreter (interpreter start-up itself not counted).

    CPU time, not wall time: the import is CPU-bound (the package is read from the page cache), and on a
    shared machine another process's load shows in the wall clock but hardly in the CPU time."""
    env = {**os.environ, **LAMBDA_ENV, "PYTHONDONTWRITEBYTECODE": "1"}
    global _ALLOWED
    if _ALLOWED is None:
        _ALLOWED = lambda_modules()
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, allowed=_ALLOWED)],
        cwd=deployed_code(),
        env=env,
        check=True,
        capture_output=True,
        text=True,
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


def import_instructions(module: str | None) -> int:
    """Instructions the import executes (valgrind's callgrind, `Ir`), interpreter start-up taken off.

    The same count on a busy machine as on a quiet one, so two versions of the code compare exactly where the
    CPU-time figure moves by ±10 % with the other work on the machine. Not time: memory stalls do not count,
    and valgrind makes it some 50 times slower (about a minute a module).
    """
    import re
    import tempfile

    global _ALLOWED
    if _ALLOWED is None:
        _ALLOWED = lambda_modules()
    # None: start-up and the probe alone, to take off (`import sys` again is a dictionary look-up).
    probe = PROBE.format(module=module or "sys", allowed=_ALLOWED)
    # A fixed hash seed: set and dict layouts, and so the instructions, are the same from run to run.
    env = {**os.environ, **LAMBDA_ENV, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.out"]
            + [sys.executable, "-c", probe],
            cwd=deployed_code(),
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise RuntimeError(f"valgrind reported no instruction count: {run.stderr[-500:]}")
    return int(found.group(1))


def measure_instructions() -> dict[str, Any]:
    """Each handler's import against `import boto3` in instructions (`python -m bench.coldstart --instructions`)."""
    start_up = import_instructions(None)
    counts = {name: import_instructions(name) - start_up for name in (BASELINE, *HANDLERS)}
    ratios = {name: counts[name] / counts[BASELINE] for name in HANDLERS}
    worst = max(ratios, key=lambda name: ratios[name])
    return {"instructions": counts, "ratios": ratios, "worst": worst, "ratio": ratios[worst]}


if __name__ == "__main__":
    if sys.argv[1:] == ["--instructions"]:
        result = measure_instructions()
        for name, count in result["instructions"].items():
            print(f"{name:28} {count:>14,} {count / result['instructions'][BASELINE]:5.2f} ×")
    else:
        print(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
