# The two commands a fresh clone needs:  `make run`  and  `make test`.
# Each creates the virtual environment on first use (and again when pyproject.toml changes).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIPELINE ?= slicing

# No telemetry leaves the machine. The project opts out by itself too (the committed .telemetry
# for kedro-telemetry, src/slicekit/settings.py for MLflow), so a bare `.venv/bin/kedro run`, the
# notebook and Airflow tasks are covered; these only repeat it. MLflow reads DO_NOT_TRACK=true, not 1.
export DO_NOT_TRACK := true
export KEDRO_DISABLE_TELEMETRY := 1
export MLFLOW_DISABLE_TELEMETRY := true

.PHONY: run test test-fast viz benchmark clean

$(VENV)/.installed-%: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.$(if $(filter-out run,$*),[$*])'
	touch $@

## Run the whole slicing pipeline (ingest → slice report).
run: $(VENV)/.installed-run
	$(BIN)/kedro run --pipelines $(PIPELINE)

## Run the test suite.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The tests that run no `kedro run`, MLflow server or other subprocess (pytest -m "not integration").
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "not integration" $(PYTEST_ARGS)

## Inspect the pipeline graph in the browser.
viz: $(VENV)/.installed-run
	$(BIN)/kedro viz run

## Benchmarks (Snorkel is installed as the reference to compare against).
benchmark: $(VENV)/.installed-benchmark
	$(BIN)/python benchmarks/bench_apply.py
	$(BIN)/python benchmarks/bench_slice_aware.py

clean:
	rm -rf $(VENV)
