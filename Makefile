# Everyday commands. The first two are the README's set-up commands.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# One planned event per asset for a range run, not one per asset and day (see BENCHMARKS.md).
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS ?= true
# The demo, the UI and the benchmarks run on generated data: the public development secret
# is fine there. A real deployment sets FUNNEL_PSEUDONYMISATION_SECRET (see the README).
DEV_ENV := FUNNEL_ENV=$${FUNNEL_ENV:-dev}

.PHONY: demo test dev lint fmt bench lock clean docs docs-serve system-deps

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## demo: generate a 120-day landing zone and run the whole pipeline over it
demo: $(STAMP)
	$(DEV_ENV) $(BIN)/python -m pipelines demo

## system-deps: what the browser (and Spark) tests need from Debian, installed when missing
system-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing Debian's chromium (browser tests) ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

## test: the full test suite (unit, dbt, end-to-end, browser)
test: $(STAMP) system-deps
	$(BIN)/python -m pytest

## dev: the Dagster UI (webserver + daemon) on workspace.yaml
dev: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	test "$(DAGSTER_HOME)" != "$(CURDIR)/.dagster_home" -a -f $(DAGSTER_HOME)/dagster.yaml \
		|| cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(DEV_ENV) $(BIN)/dagster dev -w workspace.yaml

## lint: ruff (Python) and sqlfluff (the dbt models, rendered by dbt)
lint: $(STAMP)
	$(BIN)/ruff check pipelines tests bench dbt_project/models
	$(BIN)/ruff format --check pipelines tests bench dbt_project/models
	mkdir -p data
	cd dbt_project && FUNNEL_WAREHOUSE_PATH=$${FUNNEL_WAREHOUSE_PATH:-$(CURDIR)/data/lint.duckdb} \
		FUNNEL_ENV=dev ../$(BIN)/sqlfluff lint models tests macros

fmt: $(STAMP)
	$(BIN)/ruff check --fix pipelines tests bench dbt_project/models
	$(BIN)/ruff format pipelines tests bench dbt_project/models

SCALE ?= default
## bench: throughput at scale, written to BENCHMARKS.md (not part of make test)
bench: $(STAMP)
	$(DEV_ENV) $(BIN)/python -m bench --scale $(SCALE)

## docs: the dbt docs as one self-contained page, dbt_project/target/static_index.html
docs: $(STAMP)
	cd dbt_project && FUNNEL_ENV=dev ../$(BIN)/dbt docs generate --static --profiles-dir . \
		&& echo "dbt docs: $(CURDIR)/dbt_project/target/static_index.html"

## docs-serve: the dbt docs on http://127.0.0.1:8080
docs-serve: docs
	cd dbt_project && ../$(BIN)/dbt docs serve --profiles-dir . --host 127.0.0.1 --port 8080

## lock: re-resolve constraints.txt from pyproject.toml's ranges
lock:
	rm -rf /tmp/funnel-lock && $(PYTHON) -m venv /tmp/funnel-lock
	/tmp/funnel-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/funnel-lock/bin/pip freeze --exclude-editable > constraints.txt.new
	{ head -2 constraints.txt; cat constraints.txt.new; } > constraints.txt && rm constraints.txt.new

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
