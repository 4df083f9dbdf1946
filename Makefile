# The front door. Every target installs what it needs on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export CDK_DISABLE_VERSION_CHECK := 1
# jsii warns at length on every synth that Node 20 is past its end of life.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# Tests never reach a real AWS account; they need a region name all the same. Deploys use
# yours (AWS_REGION or the profile's): nothing here overrides it.
PYTEST := AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/pytest

.PHONY: help dev lint format schemas diagram unit infra-tests integration e2e soak bench test pr synth deploy destroy up ops clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.java-checked:
	@java -version 2>&1 | awk -F'"' '/version/ {split($$2, v, "."); exit !(v[1] >= 17)}' \
		|| { echo "DynamoDB Local needs Java 17 or newer: install it with 'apt-get install openjdk-17-jre-headless' (Debian/Ubuntu) or 'brew install openjdk@17' (macOS)"; exit 1; }
	@touch $@

dev: $(BIN)/.installed node_modules/.installed .java-checked  ## install the venv, npm packages and check Java 17

lint: dev  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

schemas: dev  ## regenerate the events' JSON Schemas and docs/event-catalog.md (tests fail while stale)
	$(BIN)/python -m events_schema
	$(BIN)/python -m events_schema.catalog

diagram:  ## render docs/architecture/architecture.dot to PNG and SVG (Graphviz's dot)
	dot -Tpng -Gdpi=110 docs/architecture/architecture.dot -o docs/architecture/architecture.png
	dot -Tsvg docs/architecture/architecture.dot -o docs/architecture/architecture.svg

format: dev  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

unit: dev  ## unit tests (logic, models)
	$(PYTEST) tests/unit

infra-tests: dev  ## template assertions, cdk-nag and cfn-lint
	$(PYTEST) tests/infrastructure

integration: dev  ## data access and resolvers against DynamoDB Local and Cognito
	$(PYTEST) tests/integration

soak: dev  ## the longer reliability run: 96 bookings racing over 12 jobs
	$(PYTEST) -m soak tests/reliability

bench: dev  ## the benchmarks on a fresh local cloud: results and charts to bench/results
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/python -m bench

test: lint  ## everything CI runs: lint, then every test suite
	$(PYTEST) -n 2 --dist loadfile

pr: format test synth  ## what a reviewer runs before merging

synth: dev  ## synthesize the CloudFormation template into cdk.out (offline; fails on a cdk-nag finding)
	npx cdk synth --quiet --strict

deploy: dev  ## deploy to the AWS account in your credentials
	npx cdk deploy --require-approval broadening --outputs-file cdk-outputs.json

destroy: dev  ## delete the deployed stack
	npx cdk destroy

up: synth  ## run the whole system locally in the foreground (SEED=1 adds demo users); Ctrl-C stops
	$(BIN)/python -m localcloud up $(if $(SEED),--seed)

ops: dev  ## operator tools: make ops ARGS='dlq list' (OUTPUTS=cdk-outputs.json for AWS)
	$(BIN)/python -m operations $(if $(OUTPUTS),--outputs $(OUTPUTS)) $(ARGS)

e2e: dev  ## the end-to-end suite: on the local cloud, or on AWS with OUTPUTS=cdk-outputs.json
	NANNY_OUTPUTS_FILE=$(OUTPUTS) $(PYTEST) tests/e2e

clean:  ## remove build output (keeps .venv, node_modules and the local cloud's data)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache .java-checked
