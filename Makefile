# Developer and CI entry points. `make test` works on a fresh clone: it makes its own
# virtualenvs (.venv for the application and its tools, .venv-sam for the SAM CLI and
# .venv-checkov for checkov, which both pin versions of boto3, cfn-lint and more of their own),
# then lints, checks the template, builds the Lambda artifacts when a python3.13 is available,
# and runs the tests. `make run` needs only part of .venv: the local stack's packages (a stamp
# of its own, RUN_STAMP); `make test` later adds the dev tools to the same .venv (DEV_STAMP).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
SAM_CLI_VERSION ?= 1.170.0
CHECKOV_VERSION ?= 3.3.30
# Offline checks still want a region; nothing here talks to AWS.
CHECK_REGION ?= ap-southeast-1

VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
SAM := $(SAM_VENV)/bin/sam
DEV_STAMP := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed-run
SAM_STAMP := $(SAM_VENV)/.installed-aws-sam-cli-$(SAM_CLI_VERSION)
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-checkov-$(CHECKOV_VERSION)
PIP_FLAGS := --quiet --disable-pip-version-check --root-user-action=ignore

export SAM_CLI_TELEMETRY := 0

define require_python311
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "error: '$(PYTHON)' must be Python >= 3.11 (set PYTHON=/path/to/python3.11+)" >&2; \
		exit 1; }
endef

.PHONY: test lint template build format clean tools openapi

test: tools
	$(MAKE) lint template
	@if scripts/find-python313 >/dev/null 2>&1; then \
		$(MAKE) build test-py313; \
	else \
		echo "sam build skipped: no working python3.13 (Lambda bytecode must come from 3.13;" \
			"set PYTHON313=/path/to/python3.13)"; \
	fi
	$(BIN)/pytest -n auto tests/unit tests/functional
	$(BIN)/pytest -m "not soak" tests/integration tests/e2e

# The virtualenvs at once: they are independent and most of the time is network and unpacking.
tools:
	@$(MAKE) -j3 $(DEV_STAMP) $(SAM_STAMP) $(CHECKOV_STAMP)

$(DEV_STAMP): pyproject.toml
	$(require_python311)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --default-pip >/dev/null
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev]'
	@touch $@ $(RUN_STAMP)

# The dev install holds everything the stack needs: after it, nothing more to install.
# Otherwise only the stack's packages (pyproject.toml's dependencies and its `local` extra),
# without building this package, pip's own lines as progress. The venv gets no pip of its own:
# the interpreter's pip installs into it (`--python`), which saves most of a minute on a busy
# machine; $(DEV_STAMP) adds one when `make test` needs it.
$(RUN_STAMP): pyproject.toml
	$(require_python311)
	@if [ -f $(DEV_STAMP) ] && [ $(DEV_STAMP) -nt pyproject.toml ]; then touch $@; exit 0; fi; \
	echo "Installing the local stack's packages into $(VENV) (once; make test adds the dev tools)"; \
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV); \
	if $(PYTHON) -m pip --python $(BIN)/python --version >/dev/null 2>&1; then \
		pip="$(PYTHON) -m pip --python $(BIN)/python"; \
	else \
		$(BIN)/python -m ensurepip --default-pip >/dev/null; pip="$(BIN)/python -m pip"; \
	fi; \
	$(PYTHON) scripts/stack-requirements | $$pip install --disable-pip-version-check \
		--root-user-action=ignore --progress-bar off -r /dev/stdin \
		| { grep --line-buffered -E '^(Collecting|Installing|Successfully)' || true; }; \
	touch $@

$(SAM_STAMP):
	$(require_python311)
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install $(PIP_FLAGS) 'aws-sam-cli==$(SAM_CLI_VERSION)'
	@touch $@

$(CHECKOV_STAMP):
	$(require_python311)
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install $(PIP_FLAGS) 'checkov==$(CHECKOV_VERSION)'
	@touch $@

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Both linters: cfn-lint from .venv (current rules), and SAM's own `validate --lint`, then
# checkov, on the template as written (SnapStart off) and on a copy with SnapStart on by
# default. None needs AWS credentials; an AWS_PROFILE naming a profile this machine lacks would
# still stop the SAM CLI, so it is unset here.
SNAPSTART_TEMPLATE := .aws-sam/checks/template-snapstart.yaml
template: $(DEV_STAMP) $(SAM_STAMP) $(CHECKOV_STAMP)
	@mkdir -p $(dir $(SNAPSTART_TEMPLATE))
	sed '/^  SnapStart:$$/,/Default:/ s/Default: None/Default: PublishedVersions/' template.yaml \
		> $(SNAPSTART_TEMPLATE)
	@grep -q "Default: PublishedVersions" $(SNAPSTART_TEMPLATE)
	@for checked in template.yaml $(SNAPSTART_TEMPLATE); do \
		echo "checking $$checked"; \
		$(BIN)/cfn-lint $$checked && \
		env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE \
			$(SAM) validate --lint --template-file $$checked --region $(CHECK_REGION) && \
		$(CHECKOV_VENV)/bin/checkov --file $$checked --framework cloudformation --skip-download \
			--compact --quiet || exit 1; \
	done
	@# checkov runs offline (no policy download); each skipped check is justified in the
	@# template's Metadata.

# Lambda runs python3.13; the tests run on .venv's Python (3.11 and up). On 3.13 too, in a
# virtualenv of their own: the unit suite and each function's main functional paths (the whole
# functional suite passed there as well, but twice over it took CI past its 20 minutes).
PY313_VENV := .venv-py313
PY313_STAMP := $(PY313_VENV)/.installed-test
$(PY313_STAMP): pyproject.toml
	@test -x $(PY313_VENV)/bin/python || "$$(scripts/find-python313)" -m venv $(PY313_VENV)
	$(PY313_VENV)/bin/python -m pip install $(PIP_FLAGS) -e '.[test]'
	@touch $@

.PHONY: test-py313
test-py313: $(PY313_STAMP)
	$(PY313_VENV)/bin/pytest -q -n auto tests/unit tests/functional/test_calls_api.py \
		tests/functional/test_callbacks.py tests/functional/test_batches.py \
		tests/functional/test_deployed_configuration.py

# Lambda artifacts in .aws-sam/build (the Makefiles under layers/ and functions/ do the work).
build: $(SAM_STAMP)
	@scripts/find-python313 >/dev/null
	$(SAM) build --template-file template.yaml

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(PY313_VENV) .aws-sam .mypy_cache .ruff_cache .pytest_cache .hypothesis \
		.benchmarks build *.egg-info layers/shared/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# docs/openapi.json is generated from the routes and models; a test fails when it drifts.
openapi: $(DEV_STAMP)
	$(BIN)/python -m esms_calls.api.openapi > docs/openapi.json

# The local stack (docs/local-stack.md): the API on http://127.0.0.1:3000 (PORT overrides), the
# functions in worker processes, DynamoDB from moto's server, eSMS from the embedded simulator.
# Extra options: make run ARGS="--concurrency 1 --reconcile-every 5".
.PHONY: run invoke
run: $(RUN_STAMP)
	@PYTHONPATH=local $(BIN)/python -m devstack $(ARGS)

# The command-line client, .venv/bin/esms-calls (README "Command-line client"): the project itself
# and its `cli` extra in the stack's .venv. The dev install already holds it.
CLI_STAMP := $(VENV)/.installed-cli
.PHONY: cli
cli: $(CLI_STAMP)
$(CLI_STAMP): pyproject.toml $(RUN_STAMP)
	@if [ -f $(DEV_STAMP) ] && [ $(DEV_STAMP) -nt pyproject.toml ]; then touch $@; exit 0; fi; \
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --default-pip >/dev/null; \
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[cli]'; \
	touch $@
	@echo "esms-calls: $(BIN)/esms-calls --help"

, like `sam local invoke -e`: the handler's return value
# on stdout as JSON, logs on stderr. Uses the running local stack if there is one.
invoke: $(RUN_STAMP)
	@if [ -z "$(FUNCTION)" ] || [ -z "$(EVENT)" ]; then \
		echo "usage: make invoke FUNCTION=CallbackFunction EVENT=events/reconcile_schedule.json" >&2; \
		exit 2; fi
	@PYTHONPATH=local $(BIN)/python -m devstack invoke $(FUNCTION) $(EVENT) $(ARGS)

# Performance table (docs/performance.md): cold start of the `sam build` output, warm overhead,
# DynamoDB requests per path, artifact sizes, local stack throughput. A few minutes.
BENCH_STAMP := $(VENV)/.installed-bench
.PHONY: bench
$(BENCH_STAMP): $(DEV_STAMP) pyproject.toml
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev,bench]'
	@touch $@

bench: $(BENCH_STAMP)
	$(MAKE) build
	$(BIN)/python benchmarks/run.py

# The long load run of the local stack (tests/e2e/test_soak.py, marker soak; SOAK_CALLS=500):
# a few minutes. Its figures (calls per second, p50/p99, lost and doubled counts) are printed in
# the "reliability figures" section and recorded in docs/reliability.md.
.PHONY: soak
soak: $(DEV_STAMP)
	$(BIN)/pytest -m soak
