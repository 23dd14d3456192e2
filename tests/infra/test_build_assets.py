"""The Lambda asset build without Docker: what goes into the layer, what into the code, the pip cache."""

from __future__ import annotations

import subprocess

from infra.cdk import build_assets


def test_layer_requirements_are_the_runtime_dependencies_minus_what_lambda_provides():
    requirements = build_assets.runtime_requirements()
    names = {build_assets._requirement_name(r) for r in requirements}
    assert {"aws-lambda-powertools", "pydantic", "httpx", "tzdata"} <= names
    assert "boto3" not in names
    assert any(r.startswith("aws-lambda-powertools[tracer]") for r in requirements)


def test_code_holds_the_library_and_the_handlers(tmp_path):
    code = build_assets.build_code(tmp_path)
    assert (code / "abax_payroll" / "settings.py").is_file()
    assert (code / "abax_payroll" / "workflow" / "export_state_machine.asl.json").is_file()
    assert (code / "functions" / "__init__.py").is_file()
    assert not list(code.rglob("__pycache__"))


def test_dependency_layer_is_reused_while_pyproject_is_unchanged(tmp_path, monkeypatch):
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
