# hindfoot: the only entry point. `make run` serves the demo clinic; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
VALIDATOR := tools/fhir-validator
VALIDATOR_STAMP := $(VALIDATOR)/node_modules/.installed

.PHONY: help install pango fhir-validator browser run serve db-upgrade demo test test-fast bench lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) pango ## install hindfoot and its dependencies into .venv

pango: ## Debian's Pango, which WeasyPrint needs for the patient's PDF summary
	@{ ldconfig -p 2>/dev/null || /sbin/ldconfig -p; } | grep -q 'libpangoft2-1.0.so.0' || { \
	  echo "installing Debian's Pango for WeasyPrint (PDF summaries)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; }

$(VALIDATOR_STAMP): $(VALIDATOR)/package.json
	cd $(VALIDATOR) && npm install --no-audit --no-fund --no-package-lock --silent
	touch $(VALIDATOR_STAMP)

fhir-validator: $(VALIDATOR_STAMP) ## Medplum's FHIR validator (npm, project-local) for the FHIR tests

browser: ## install Debian's chromium for the browser tests (never a downloaded build)
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

db-upgrade: install ## create or migrate the database (HINDFOOT_DATABASE_URL, SQLite file by default)
	$(BIN)/hindfoot db upgrade

demo: db-upgrade ## load the demo clinic (idempotent)
	$(BIN)/hindfoot demo

run: demo ## install, migrate, load the demo clinic and serve at http://$(HOST):$(PORT)
	$(BIN)/hindfoot serve --host $(HOST) --port $(PORT)

serve: install ## serve without touching the data
	$(BIN)/hindfoot serve --host $(HOST) --port $(PORT)

lint: install ## ruff, import-linter (the layering rules of docs/architecture.md) and mypy; config in pyproject.toml
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

test: install fhir-validator browser lint ## the whole suite: SQLite and PostgreSQL, real-browser tests included
	$(BIN)/python -m pytest

test-fast: install fhir-validator ## everything but the browser tests
	$(BIN)/python -m pytest -m "not browser"

bench: install ## benchmarks of the hot paths, as ratios to a baseline measured in the same run
	$(BIN)/python -m bench

clean: ## remove the virtualenv and local databases
	rm -rf $(VENV) hindfoot.db hindfoot.db-wal hindfoot.db-shm .pytest_cache .mypy_cache .import_linter_cache
