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

.PHONY: real-data run test test-fast lint bench ui screenshots generate report clean venv fuzz scale-test validate-methods validate-changes

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

## The whole suite: two worker processes (pytest-xdist), then the timing-sensitive tests alone.
## TEST_WORKERS=0 runs everything in this one process (output in order, pdb works).
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m "not serial"
	$(BIN)/python -m pytest -q -m serial

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

## Lint: ruff (Python: rules and format) and sqlfluff (the DuckDB SQL), with the settings in
## pyproject.toml and .sqlfluff. CI runs it before the tests.
lint: $(STAMP)
	$(BIN)/ruff check pipeline tests benchmarks
	$(BIN)/ruff format --check pipeline tests benchmarks
	$(BIN)/sqlfluff lint sql

## The long fuzz campaign of the ingestion engine (tests/fuzz): FUZZ_EXAMPLES drops per dataset
## (default 600: about 4,200 drops, 14,000 files, 10-20 minutes); what was tried goes to $(FUZZ_STATS).
## Then CRASH_KILLS runs killed with SIGKILL at random moments (tests/defs/test_crash_safety.py,
## seed CRASH_SEED; about 20 s a kill): what readers see must never change.
FUZZ_EXAMPLES ?= 600
FUZZ_STATS ?= /tmp/servicelens-fuzz-stats.json
CRASH_KILLS ?= 20
CRASH_SEED ?= 0
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=campaign FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_STATS=$(FUZZ_STATS) \
		$(BIN)/python -m pytest -q -p no:cacheprovider -W ignore::hypothesis.errors.HypothesisWarning tests/fuzz
	@cat $(FUZZ_STATS)
	SERVICELENS_CRASH_KILLS=$(CRASH_KILLS) SERVICELENS_CRASH_SEED=$(CRASH_SEED) \
		$(BIN)/python -m pytest -q -p no:cacheprovider tests/defs/test_crash_safety.py

## The partitioned jobs through Dagster's Celery executor: a Redis broker (Debian's redis-server,
## installed if absent) and two Celery workers, started and stopped here; the warehouse must equal
## the in-process run's. Not part of `make test` (about 2 minutes).
SCALE_REQUESTS ?= 20000
scale-test: $(STAMP)
	@command -v redis-server >/dev/null || (apt-get install -y redis-server >/dev/null 2>&1 || sudo apt-get install -y redis-server)
	$(BIN)/pip install --quiet -e '.[dev,celery]'
	$(BIN)/python -m tests.scale.celery_scale --requests $(SCALE_REQUESTS)

## Coverage of every published interval type and bias of every point estimate, on simulated
## logs with a known truth (issue 14): writes docs/methods-validation.md (a few minutes).
validate-methods: $(STAMP)
	$(BIN)/python -m pipeline.validate_methods --out docs/methods-validation.md

## Recall and false alarms of the service changelog's change points on generated worlds with
## planted shifts (issue 16); writes docs/change-detection.md (about a minute per world).
validate-changes: $(STAMP)
	$(BIN)/python -m pipeline.validate_changes --out docs/change-detection.md

## Every stage at 1M and 10M beside its floor, one more day, simulate; then 100M end to end
## (about 45 minutes in all; BENCH_E2E= skips the 100M run).
BENCH_SIZES ?= 1000000,10000000
BENCH_E2E ?= 100000000
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_bench --out BENCHMARKS.md --sizes $(BENCH_SIZES) --e2e-sizes "$(BENCH_E2E)"

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
	rm -rf data/raw data/warehouse data/warehouse.duckdb data/warehouse.store .dagster
