# Seia's front door. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The layer package and the function modules, importable as Lambda sees them.
export PYTHONPATH := $(CURDIR)/layers/shared/python:$(CURDIR)/functions/ingest:$(CURDIR)/functions/query:$(CURDIR)/functions/files:$(CURDIR)/functions/drift:$(CURDIR)/functions/authorizer:$(CURDIR)/admin:$(CURDIR)/client:$(CURDIR)

.DEFAULT_GOAL := help
.PHONY: help install up test test-unit test-integration test-e2e test-reliability test-browser lint pre-commit bench demo lint-template sam-build clean

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml client/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q 'pip<26.3'  # chalice 1.34 requires pip<26.3
	$(PY) -m pip install -q -e './client[pandas,parquet,s3]' -e '.[drift,dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install Seia with everything the tests need

up: $(STAMP) ## the whole system locally: PostgreSQL, LocalStack, the function host, API and dashboard on 127.0.0.1:8000 (SEIA_PORT); Ctrl-C stops
	$(PY) -m infra.local.up

# Tests run in JOBS xdist workers. Most of a test's time is spent waiting on PostgreSQL, LocalStack,
# a function host or Chromium, not on this machine's 2 cores, so 4 workers keep both cores busy.
# --dist loadgroup: the tests that kill or restart what others use share one worker (tests/conftest.py).
JOBS ?= 4
XDIST := -n $(JOBS) --dist loadgroup
# The library modules' doctests (statistics, time parsing, the client), collected from the package
# folders only: the handler modules (functions/*/*_app.py) build their app when imported.
DOCTESTS := --doctest-modules $(sort $(wildcard layers/shared/python/seia functions/*/seia_* admin/seia_* client/seia_*))
# The unit tier has no database: any test that tries to reach one fails instead of finding one.
NO_DATABASE := postgresql://postgres@127.0.0.1:1/the-unit-tier-has-no-database

# $(call pytest_with_services,ARGS): PostgreSQL (started when down), LocalStack (started when down and
# stopped after; one already answering on :4566 is reused and left running), Chromium, then pytest ARGS.
# LocalStack starts here, once, not in each xdist worker's session fixture.
define pytest_with_services
	@bash infra/localstack/install.sh
	@sh infra/browser/install.sh
	@export DATABASE_URL=$$($(PY) -m infra.local.postgres) && started= && \
	if ! $(PY) -c 'import sys; from infra.local.stack import localstack_answers; sys.exit(not localstack_answers())'; then \
		bash infra/localstack/localstack.sh start && started=1; fi && \
	trap '[ -z "$$started" ] || bash infra/localstack/localstack.sh stop' EXIT && \
	$(PY) -m pytest $(1) $(PYTEST_ARGS)
endef

test: $(STAMP) ## run every test (or one tier: TIER=unit|integration|e2e|reliability|browser|"not slow"), JOBS=4 in parallel
	$(call pytest_with_services,$(XDIST) $(if $(TIER),-m "$(TIER)") tests $(DOCTESTS))

test-unit: $(STAMP) ## only the unit tests and the doctests (no database, no LocalStack)
	DATABASE_URL=$(NO_DATABASE) $(PY) -m pytest -m unit tests/unit $(DOCTESTS) $(PYTEST_ARGS)

test-integration: $(STAMP) ## only the integration tests (real PostgreSQL; moto for AWS)
	@$(MAKE) --no-print-directory test TIER=integration

test-e2e: $(STAMP) ## only the end-to-end tests (LocalStack and the function host)
	@$(MAKE) --no-print-directory test TIER=e2e

test-reliability: $(STAMP) ## only the reliability tests (faults, hostile input, load)
	@$(MAKE) --no-print-directory test TIER=reliability

test-browser: $(STAMP) ## only the dashboard's browser tests (Chromium)
	@$(MAKE) --no-print-directory test TIER=browser

lint: $(STAMP) ## ruff check, ruff format --check, mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

pre-commit: $(STAMP) ## install the git pre-commit hook (ruff and mypy from .venv, offline)
	$(VENV)/bin/pre-commit install

bench: $(STAMP) ## print the benchmark figures
	@export DATABASE_URL=$$($(PY) -m infra.local.postgres) && $(PY) -m bench.run $(BENCH_ARGS)

demo: $(STAMP) ## two weeks of a churn model in under two minutes: drift on day 8, the alert and its cause (uses `make up` if running)
	@$(PY) -m infra.local.demo $(DEMO_ARGS)

lint-template: ## sam validate --lint template.yaml (aws-sam-cli in its own virtualenv)
	env -u PYTHONPATH bash infra/sam/install.sh
	unset PYTHONPATH && source infra/sam/env.sh && sam validate --lint --template template.yaml

sam-build: $(STAMP) ## sam build (no container) into .aws-sam/, each function's unzipped size against Lambda's 250 MB, handler imports
	bash infra/sam/build.sh

clean: ## remove .venv and local state (.local: private cluster, keys, logs)
	rm -rf $(VENV) .local
