# Everyday commands. The first two are the README's set-up commands.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# One planned event per asset for a range run, not one per asset and day (see BENCHMARKS.md).
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS ?= true

.PHONY: demo test dev lint fmt bench lock clean docs

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## demo: generate a 120-day landing zone and run the whole pipeline over it
demo: $(STAMP)
	$(BIN)/python -m pipelines demo

## test: the full test suite (unit, dbt, end-to-end, browser)
test: $(STAMP)
	$(BIN)/python -m pytest

## dev: the Dagster UI (webserver + daemon) on workspace.yaml
dev: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	test "$(DAGSTER_HOME)" != "$(CURDIR)/.dagster_home" -a -f $(DAGSTER_HOME)/dagster.yaml \
		|| cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml

lint: $(STAMP)
	$(BIN)/ruff check pipelines tests bench
	$(BIN)/ruff format --check pipelines tests bench

fmt: $(STAMP)
	$(BIN)/ruff check --fix pipelines tests bench
	$(BIN)/ruff format pipelines tests bench

SCALE ?= default
## bench: throughput at scale, written to BENCHMARKS.md (not part of make test)
bench: $(STAMP)
	$(BIN)/python -m bench --scale $(SCALE)

docs: $(STAMP)
	$(BIN)/python -m pipelines dbt-docs

## lock: re-resolve constraints.txt from pyproject.toml's ranges
lock:
	rm -rf /tmp/funnel-lock && $(PYTHON) -m venv /tmp/funnel-lock
	/tmp/funnel-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/funnel-lock/bin/pip freeze --exclude-editable > constraints.txt.new
	{ head -2 constraints.txt; cat constraints.txt.new; } > constraints.txt && rm constraints.txt.new

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
