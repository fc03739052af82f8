# The two commands a new user runs: `make demo` and `make test`. Both set everything up first.
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1
LINT_PATHS := $(wildcard sargeo tests benchmarks scripts qgis_plugin)

.PHONY: setup lock demo test test-fast lint format bench clean

setup:
	@bash scripts/setup.sh

# Regenerates requirements.lock, the exact versions every install gets, from pyproject.toml's ranges.
# Pins already in the lock are kept; `make lock UPGRADE=--upgrade` moves every pin to its newest release.
# Run it after changing a dependency, then `make setup` installs the new lock.
lock: setup
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras -c constraints.txt -o requirements.lock \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 $(UPGRADE)

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
