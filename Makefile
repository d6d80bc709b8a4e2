# sociale-kaart — everything a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
SHARED ?= ../shared
# pytest-xdist workers for `make test` (auto: one per core, at most 4); 0 runs in one process
TEST_WORKERS ?= auto
export DATABASE_URL ?= sqlite:///./var/sociale-kaart.db

.DEFAULT_GOAL := help
.PHONY: help install browser-deps run serve migrate demo test lint format openapi check-openapi spectral eval bench soak clean

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found). Set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its dev tools

migrate: install ## Migrate the database (DATABASE_URL) and load the taxonomy
	@mkdir -p var
	$(BIN)/sociale-kaart db upgrade

demo: migrate ## Import the Uithoorn demo data (idempotent, geocoded offline) and build the search index
	$(BIN)/sociale-kaart geo import-postcodes app/geo/data/pc4-uithoorn.csv
	$(BIN)/sociale-kaart import uithoorn importers/data/uithoorn.json --admit
	$(BIN)/sociale-kaart search reindex

run: demo ## Install, migrate, load the demo data and serve http://127.0.0.1:8000
	$(BIN)/sociale-kaart serve --host 127.0.0.1 --port 8000

serve: install ## Serve without (re)loading the demo data
	$(BIN)/sociale-kaart serve --host 127.0.0.1 --port 8000

browser-deps: $(NODE_STAMP) ## Chromium (Debian package) and axe-core (npm) for the browser tests
	@if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's Chromium for the browser tests (apt-get install chromium)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null \
		|| echo "Chromium could not be installed: the browser tests will be skipped (required with CI=true)"; \
	fi

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $(NODE_STAMP)

test: install browser-deps ## Run the whole test suite (SQLite and PostgreSQL, and the browser tests in Chromium)
	$(BIN)/pytest -n $(TEST_WORKERS) --maxprocesses=4

lint: install ## ruff format check, ruff lint, mypy strict, alembic check, ADR lint of the OpenAPI document
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	@tmp=$$(mktemp -d) && DATABASE_URL=sqlite:///$$tmp/check.db $(BIN)/alembic upgrade head >/dev/null 2>&1 && \
		DATABASE_URL=sqlite:///$$tmp/check.db $(BIN)/alembic check; status=$$?; rm -rf $$tmp; exit $$status
	@$(MAKE) --no-print-directory check-openapi spectral

openapi: install ## Write the committed OpenAPI documents (openapi/openapi.json, openapi/hsds.json)
	$(BIN)/python -m app.openapi_export openapi/openapi.json
	$(BIN)/python -m app.openapi_export --app hsds openapi/hsds.json

check-openapi: install ## Fail when openapi/openapi.json or openapi/hsds.json differs from the code
	$(BIN)/python -m app.openapi_export --check openapi/openapi.json
	$(BIN)/python -m app.openapi_export --check --app hsds openapi/hsds.json

spectral: ## Lint openapi/openapi.json with the Dutch API Design Rules (needs npx and ../shared)
	@if [ -f $(SHARED)/standards/nl-api-design-rules/spectral.yml ]; then \
		npx --yes @stoplight/spectral-cli@6 lint --fail-severity=error -r $(SHARED)/standards/nl-api-design-rules/spectral.yml openapi/openapi.json; \
	else echo "spectral: $(SHARED)/standards/nl-api-design-rules/spectral.yml not found — ADR lint skipped"; fi

eval: install ## Relevance on the judged query set: nDCG@10, recall@10, zero results per backend
	$(BIN)/python -m search.eval.run

SOAK_SECONDS ?= 600
SOAK_CLIENTS ?= 8

bench: install ## Benchmark search at national size (100k services) through real HTTP, then the soak; writes bench/RESULTS.md
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.soak --duration $(SOAK_SECONDS) --clients $(SOAK_CLIENTS)

soak: install ## Soak: mixed read/write load through real HTTP (SOAK_SECONDS=600, SOAK_CLIENTS=8), no write lost; bench/RESULTS.md
	$(BIN)/python -m bench.soak --duration $(SOAK_SECONDS) --clients $(SOAK_CLIENTS)

format: install ## Format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove .venv, node_modules, var/ and caches
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
