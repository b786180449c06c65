# servicelens: `make run` builds the sample warehouse, `make test` runs the suite.
# Both bootstrap .venv from pyproject.toml on first use (Python 3.11+).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REQUESTS ?= 1000000
SEED ?= 0
RAW ?= data/raw
WAREHOUSE ?= data/warehouse.duckdb

# One run history for CLI runs and the UI (see dagster.yaml); never from .env.
export DAGSTER_HOME := $(CURDIR)

.PHONY: run test test-fast bench ui generate clean venv

venv: $(STAMP)
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Generate the sample quarter (if absent) and build the warehouse through Dagster.
run: $(STAMP)
	@if [ ! -f $(RAW)/_manifest.json ]; then $(BIN)/servicelens generate --out $(RAW) --requests $(REQUESTS) --seed $(SEED); \
	else echo "using existing drop $(RAW) (make clean to regenerate)"; fi
	$(BIN)/servicelens run --raw $(RAW) --warehouse $(WAREHOUSE)

generate: $(STAMP)
	$(BIN)/servicelens generate --out $(RAW) --requests $(REQUESTS) --seed $(SEED)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_bench --out BENCHMARKS.md

## The Dagster UI over the same instance (http://127.0.0.1:3000).
ui: $(STAMP)
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000

clean:
	rm -rf data/raw data/warehouse data/warehouse.duckdb .dagster
