# The two commands a new user runs: `make demo` and `make test`. Both set everything up first.
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1
LINT_PATHS := $(wildcard sargeo tests benchmarks scripts qgis_plugin)

.PHONY: setup lock demo test test-fast lint format bench models plugin clean

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

# Trains and exports the default models into export/ (bundles are built here, never committed):
# the default corpus, then each model's default and tiny recipes, each exported fp32 (CLIP, CoCa also int8).
# Each step is skipped when its output is complete, and an interrupted training run resumes.
RUNS := runs
CORPUS := $(RUNS)/corpus
SARGEO := $(VENV)/bin/sargeo
# task:recipe:bundle name; SAR-GPT lite starts from the SAR-RS-CLIP lite run's image tower (--init)
MODELS := clip:clip-lite-progressive:sar-rs-clip-lite clip:clip-tiny:sar-rs-clip-tiny \
	coca:coca-lite-progressive:sar-rs-coca-lite coca:coca-tiny:sar-rs-coca-tiny \
	gpt:gpt-lite-two-stage:sar-gpt-lite gpt:gpt-tiny:sar-gpt-tiny

models: setup
	@test -f $(CORPUS)/card.json || $(SARGEO) corpus build -o $(CORPUS) --overwrite
	@for spec in $(MODELS); do \
		task=$${spec%%:*}; rest=$${spec#*:}; recipe=$${rest%%:*}; name=$${rest#*:}; run=$(RUNS)/$$name; \
		if [ ! -f $$run/final/model.pt ]; then \
			resume=$$( [ -f $$run/run.json ] && echo --resume ); \
			init=$$( [ $$name = sar-gpt-lite ] && echo --init $(RUNS)/sar-rs-clip-lite ); \
			$(SARGEO) train $$task --recipe $$recipe --corpus $(CORPUS) -o $$run $$resume $$init || exit 1; \
		fi; \
		test -f export/$$name/bundle.json || $(SARGEO) export $$task $$run -o export/$$name --overwrite || exit 1; \
		[ $$task = gpt ] || test -f export/$$name-int8/bundle.json || \
			$(SARGEO) export $$task $$run -o export/$$name-int8 --int8 --overwrite || exit 1; \
	done

# The QGIS plugin zip (Plugins > Manage and Install Plugins > Install from ZIP), sargeo.runtime vendored.
plugin: setup
	$(PY) scripts/build_plugin.py

lint: setup
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy sargeo
	$(VENV)/bin/mypy qgis_plugin/sar_narrator

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
	$(PY) benchmarks/bench_vqa.py --threads 1

clean:
	rm -rf demo-out .pytest_cache .mypy_cache .ruff_cache
