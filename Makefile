# Seia's front door. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The layer package and the function modules, importable as Lambda sees them.
export PYTHONPATH := $(CURDIR)/layers/shared/python:$(CURDIR)/functions/ingest:$(CURDIR)/functions/query:$(CURDIR)/functions/files:$(CURDIR)/functions/drift:$(CURDIR)/admin:$(CURDIR)/client:$(CURDIR)

.DEFAULT_GOAL := help
.PHONY: help install up test test-unit bench demo lint-template sam-build clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml client/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q 'pip<26.3'  # chalice 1.34 requires pip<26.3
	$(PY) -m pip install -q -e './client[pandas,parquet,s3]' -e '.[drift,dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install Seia with everything the tests need

up: $(STAMP) ## the whole system locally: PostgreSQL, LocalStack, the function host, API and dashboard on 127.0.0.1:8000 (SEIA_PORT); Ctrl-C stops
	$(PY) -m infra.local.up

test: $(STAMP) ## run every test: unit, integration (real PostgreSQL), end to end (LocalStack, started when down)
	@bash infra/localstack/install.sh
	@sh infra/browser/install.sh
	@export DATABASE_URL=$$($(PY) -m infra.local.postgres) && $(PY) -m pytest $(PYTEST_ARGS)

test-unit: $(STAMP) ## only the unit tests (no database)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

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
