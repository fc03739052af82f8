# The two commands a new user runs: `make demo` and `make test`. Both set everything up first.
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1
LINT_PATHS := $(wildcard sargeo tests benchmarks scripts qgis_plugin)

.PHONY: setup demo test test-fast lint format bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/bin/sargeo demo -o demo-out --overwrite

lint: setup
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy sargeo

test: setup lint
	$(PY) -m pytest -n 2 -q

test-fast:
	$(PY) -m pytest -n 2 -q -m "not slow and not qgis"

format:
	$(VENV)/bin/ruff format $(LINT_PATHS)
	$(VENV)/bin/ruff check --fix $(LINT_PATHS)

bench: setup
	$(PY) benchmarks/bench_tiling.py
	$(PY) benchmarks/bench_narrator.py
	$(PY) benchmarks/bench_synth_memory.py

clean:
	rm -rf demo-out .pytest_cache .mypy_cache .ruff_cache
