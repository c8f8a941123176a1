# shuyaku — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean shared-docs assets serve

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Generate a small synthetic prefecture, ingest it into SQLite (var/demo), write return files.
demo: $(STAMP)
	$(BIN)/shuyaku demo

## The screens and the API over the demo prefecture (after `make demo`): http://127.0.0.1:8000/login
serve: $(STAMP)
	SHUYAKU_HOME=var/demo $(BIN)/shuyaku serve

## Unit tests, then the integration tests on SQLite and — where reachable — PostgreSQL.
## SHUYAKU_TEST_POSTGRES_URL names the server (default: local trust auth, database `test`);
## with SHUYAKU_REQUIRE_POSTGRES=1 (CI) an unreachable server fails instead of skipping.
## -n auto: one pytest-xdist worker per core, each with a PostgreSQL database of its own.
test: $(STAMP)
	$(BIN)/pytest -q -n auto

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

## Benchmarks (not tests): print figures against a baseline measured in the same run.
bench: $(STAMP)
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/kogaku.py
	$(BIN)/python bench/tasuukai.py

clean:
	rm -rf $(VENV) var .pytest_cache

## Refresh docs/shared/ from ../shared/ (the contracts and rules the docs link to).
shared-docs:
	cp ../shared/spec/*.md docs/shared/spec/
	cp ../shared/reference/*.md docs/shared/reference/

## Rebuild the vendored DADS design tokens (src/shuyaku/web/static/dads-tokens.css) with npm.
assets:
	cd src/shuyaku/web/assets && npm ci --no-audit --no-fund && node build.mjs && rm -rf node_modules
