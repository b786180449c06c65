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

.PHONY: real-data run test test-fast bench ui screenshots generate report clean venv

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

## The quarterly report (HTML, PNG charts, PDF) of the latest quarter in the warehouse, or of PERIOD=2025Q4.
report: $(STAMP)
	$(BIN)/servicelens report --warehouse $(WAREHOUSE) $(if $(PERIOD),--period $(PERIOD))

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_bench --out BENCHMARKS.md

## The Dagster UI over the same instance (http://127.0.0.1:3000).
## Import the public samples in ../shared/data/real (LiteLLM price history, Azure 2023 traces,
## llmperf probes) into one drop and run the pipeline on it (docs/real-data.md).
REAL ?= ../shared/data/real
real-data: $(STAMP)
	rm -rf data/real-drop
	$(BIN)/servicelens import litellm-prices $(REAL)/litellm-model-prices --out data/real-drop
	$(BIN)/servicelens import azure-llm-trace $(REAL)/azure-llm-inference-2023 --out data/real-drop
	$(BIN)/servicelens import llmperf $(REAL)/llmperf-leaderboard/raw_data --out data/real-drop
	$(BIN)/servicelens run --raw data/real-drop --warehouse data/real.duckdb

ui: $(STAMP)
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000

## README screenshots of the UI over the same instance (headless Chromium), into docs/images/.
screenshots: $(STAMP)
	$(BIN)/python -m tests.ui.screenshots --out docs/images

clean:
	rm -rf data/raw data/warehouse data/warehouse.duckdb .dagster
