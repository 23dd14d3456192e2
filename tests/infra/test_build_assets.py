"""The Lambda asset build without Docker: what goes into the layer, what into the code, the pip cache."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

from infra.cdk import build_assets


def test_layer_requirements_are_the_runtime_dependencies_minus_what_lambda_provides():
    requirements = build_assets.runtime_requirements()
    names = {build_assets._requirement_name(r) for r in requirements}
    assert {"aws-lambda-powertools", "pydantic", "httpx", "tzdata"} <= names
    assert "boto3" not in names
    assert any(r.startswith("aws-lambda-powertools[tracer]") for r in requirements)


def test_code_holds_the_library_and_the_handlers(tmp_path, monkeypatch):
    monkeypatch.setattr(
        build_assets, "runtime_interpreter", lambda: None
    )  # no CPython of the runtime's version
    code = build_assets.build_code(tmp_path)
    assert (code / "abax_payroll" / "settings.py").is_file()
    assert (code / "abax_payroll" / "workflow" / "export_state_machine.asl.json").is_file()
    assert (code / "functions" / "__init__.py").is_file()
    assert not list(code.rglob("__pycache__"))


def test_dependency_layer_is_reused_while_pyproject_is_unchanged(tmp_path, monkeypatch):
    monkeypatch.setattr(build_assets, "runtime_interpreter", lambda: None)
    calls = []

    def fake_pip(command, check):
        calls.append(command)
        target = command[command.index("--target") + 1]
        (build_assets.Path(target) / "botocore").mkdir()
        (build_assets.Path(target) / "pydantic").mkdir()

    monkeypatch.setattr(subprocess, "run", fake_pip)
    deps = build_assets.build_deps(tmp_path)
    assert len(calls) == 1
    assert {"--platform", "manylinux2014_aarch64", "--python-version", "3.13", "--only-binary=:all:"} <= set(
        calls[0]
    )
    assert (deps / "python" / "pydantic").is_dir()
    assert not (deps / "python" / "botocore").exists()  # the runtime's botocore must win
    build_assets.build_deps(tmp_path)
    assert len(calls) == 1


def test_with_a_python_of_the_runtimes_version_the_assets_ship_bytecode_valid_whatever_the_mtimes(
    tmp_path, monkeypatch
):
    """Lambda cannot write __pycache__ in its read-only package: without .pyc every cold start compiles."""
    monkeypatch.setattr(
        build_assets, "LAMBDA_PYTHON_VERSION", f"{sys.version_info.major}.{sys.version_info.minor}"
    )
    assert build_assets.runtime_interpreter() == sys.executable
    code = build_assets.build_code(tmp_path)
    tag = sys.implementation.cache_tag
    compiled = code / "abax_payroll" / "__pycache__" / f"settings.{tag}.pyc"
    assert compiled.is_file()
    header = compiled.read_bytes()[:16]
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, source not checked (PEP 552)
    sources = len(list(code.rglob("*.py")))
    assert len(list(code.rglob(f"*.{tag}.pyc"))) == sources
    again = build_assets.build_code(tmp_path / "again")
    assert (
        again / "abax_payroll" / "__pycache__" / f"settings.{tag}.pyc"
    ).read_bytes() == compiled.read_bytes()
    # Zips restore other mtimes than the build saw: the bytecode is still what Python loads.
    os.utime(code / "abax_payroll" / "errors.py", (946684800, 946684800))
    loaded = subprocess.run(
        [sys.executable, "-v", "-c", "import abax_payroll.errors"],
        cwd=code,
        env={**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    assert f"code object from '{code / 'abax_payroll' / '__pycache__' / f'errors.{tag}.pyc'}'" in loaded


def test_a_version_managers_shim_without_that_python_is_not_taken_for_it(tmp_path, monkeypatch):
    """pyenv puts python3.13 on PATH even where 3.13 is not installed; the build must not fail on it."""
    shim = tmp_path / f"python{build_assets.LAMBDA_PYTHON_VERSION}"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    if f"{sys.version_info.major}.{sys.version_info.minor}" != build_assets.LAMBDA_PYTHON_VERSION:
        assert build_assets.runtime_interpreter() is None
    shim.write_text(f"#!/bin/sh\necho {build_assets.LAMBDA_PYTHON_VERSION}\n")
    assert build_assets.runtime_interpreter() in (str(shim), sys.executable)
