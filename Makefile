# Everything installs into .venv from this project's own files; every target works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# axe-core (pinned in tests/browser/package-lock.json), which the browser tests inject into the web app.
AXE := tests/browser/node_modules/axe-core/axe.min.js
CDK_OUT ?= cdk.out
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: install test test-matrix test-full chaos demo serve lint openapi synth local-roles bench clean

install: $(STAMP) $(AXE)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund
	touch $(AXE)

test: $(STAMP) $(AXE)
	$(BIN)/pytest -n 2 -q

# The failure matrix at every position k (make test runs positions 1, the middle and N).
test-matrix: $(STAMP)
	MATRIX_FULL=1 $(BIN)/pytest -n 2 -q tests/matrix

# The exhaustive and full-size variants of which make test runs one instance walking the same code (SUITE_FULL=1,
# tests/support.py): the axe check in all four language x width combinations, the left-behind list at 2,000 lines.
test-full: $(STAMP) $(AXE)
	SUITE_FULL=1 $(BIN)/pytest -n 2 -q tests/browser/test_accessibility.py \
		tests/e2e/test_big_lists.py::test_thousands_of_lines_left_in_go_are_named_without_outgrowing_the_record

# Seeded random sequences over several companies (PowerOffice Go and ABAX faults, killed Lambda invocations,
# stopped runs, the clerk's actions), invariants checked against PowerOffice Go's own salary lines; prints
# each violation with its seed and the command that runs it again (make test runs one seed). Issue 24's
# directed sequences run first.
# JOBS processes (each with its own local stack) share the seeds.
SEEDS ?= 500
COMPANIES ?= 3
JOBS ?= 4
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos --sequences --seeds $(SEEDS) --companies $(COMPANIES) --jobs $(JOBS)

demo: $(STAMP)
	$(BIN)/abax-payroll local demo

serve: $(STAMP)
	$(BIN)/abax-payroll local serve --port 8000

openapi: $(STAMP)
	$(BIN)/python -c "import json; from abax_payroll.api.openapi import openapi_document; print(json.dumps(openapi_document(), indent=2, ensure_ascii=False))" > docs/openapi.json

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The CDK app in plain Python (no CDK CLI, no Docker): builds the Lambda assets into build/lambda (the
# dependency layer is reused while the runtime dependencies are unchanged), runs cdk-nag, writes $(CDK_OUT)/.
# Deploy with the CDK CLI from npm: see infra/cdk/DEPLOY.md.
# The alarm topic needs a subscriber: `cdk deploy` refuses without -c alarm_email=...; this offline check
# names a placeholder unless ALARM_EMAIL is given.
ALARM_EMAIL ?= alarms@example.invalid
synth: $(STAMP)
	CDK_OUTDIR=$(CDK_OUT) $(BIN)/python -m infra.cdk.app alarm_email=$(ALARM_EMAIL)

# The roles and environments the local stack enforces (local/roles.json), from the CDK app's synth; run it
# after changing a grant or a function's environment in infra/cdk/ (tests/infra/test_local_roles.py checks).
local-roles: $(STAMP)
	$(BIN)/python -m infra.cdk.local_roles

# One table of ratios (push throughput vs the rate limit, month end, CPU pipeline, cold start, workflow
# cost), each measured in this run on this machine, with the command that reproduces it; also written to
# bench/results.md. `$(BIN)/python -m bench.run --quick` scales the long figures down.
bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) $(CDK_OUT) build .pytest_cache .mypy_cache .ruff_cache tests/browser/node_modules
