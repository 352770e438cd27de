# Lifecycle Audit Workbook. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
PARAMS ?= params/demo.yaml
LINT_PATHS := lib tests benchmarks tools notebooks
NBSTRIPOUT := "$(abspath $(PY))" -m nbstripout --keep-id
# Empty, not unset: the library's own modules are byte-compiled on first import (into git-ignored __pycache__/),
# also where the environment says PYTHONDONTWRITEBYTECODE=1.
export PYTHONDONTWRITEBYTECODE :=
export MPLBACKEND := Agg

.PHONY: help setup demo demo-again healthy test test-fast lint format notebooks lock bench clean messages lab spark lock-spark

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	@# --compile-bytecode: every process (pytest, each papermill kernel) then imports pandas, ibis and matplotlib
	@# in about 2.6 s instead of 7-9 s; without it nothing writes bytecode into the venv
	@$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -r requirements.lock
	@$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	@# git filter that commits notebooks without outputs (.gitattributes names the files), set in .git/config;
	@# --keep-id keeps the cell ids as committed (nbstripout would renumber them); skipped outside a git checkout
	@if [ -e .git ]; then \
		$(VENV)/bin/nbstripout --install --attributes .gitattributes && \
		git config filter.nbstripout.clean '$(NBSTRIPOUT)' && \
		git config diff.ipynb.textconv '$(NBSTRIPOUT) -t'; \
	fi
	@rm -f $(VENV)/.installed-*; touch $@
	@echo "environment ready in $(VENV)"

setup: $(STAMP) ## create .venv with the locked versions (done by every target that needs it)

demo: $(STAMP) ## generate the demo shop if absent, audit it, print where the report is
	@$(VENV)/bin/lifecycle-audit run $(PARAMS)

demo-again: $(STAMP) ## audit the demo shop again with two mistakes fixed; its index compares with the last demo run
	@$(VENV)/bin/lifecycle-audit run params/demo-fixed.yaml

healthy: $(STAMP) ## audit the healthy demo shop (no mistakes planted)
	@$(VENV)/bin/lifecycle-audit run params/healthy.yaml

# The sweeps marked slow (planted-mistake accuracy over 20 shops, degenerate shops, blanked inputs) take minutes:
# CI runs them (.ci/run sets CI), so does `make test SLOW=1`; a plain local `make test` leaves them out.
SLOW ?= $(CI)
SKIP_SLOW := $(if $(filter-out 0 false no,$(SLOW)),,-m "not slow")

test: $(STAMP) lint ## lint, then every test: library, command line, end to end, notebooks (SLOW=1 or CI: the sweeps too)
	@# the notebooks (nbval) run in the same two processes as the tests: a notebook's cells stay in one process
	@# -p tests.startup: loaded before nbval, which imports nbformat (tests/startup.py says why that matters)
	@$(PY) -m pytest -q -n 2 --dist loadgroup -p tests.startup $(SKIP_SLOW) --nbval-lax tests notebooks

test-fast: $(STAMP) ## unit tests only (skips end-to-end runs, sweeps and whole-shop tests)
	@# no notebooks here, so no nbval; -p tests.startup as in make test
	@$(PY) -m pytest -q -n 2 --dist loadgroup -p no:nbval -p tests.startup -m "not e2e and not slow and not heavy" tests

lint: $(STAMP) ## check code style with ruff: lint rules and formatting (changes nothing)
	@$(VENV)/bin/ruff check $(LINT_PATHS)
	@$(VENV)/bin/ruff format --check $(LINT_PATHS)

format: $(STAMP) ## apply ruff's safe lint fixes, format the code, then list what is left to fix by hand
	@$(VENV)/bin/ruff check --fix --exit-zero -q $(LINT_PATHS)
	@$(VENV)/bin/ruff format $(LINT_PATHS)
	@$(VENV)/bin/ruff check $(LINT_PATHS)

lock: ## re-resolve requirements.lock from pyproject.toml
	@test -x $(VENV)/bin/uv || { $(PYTHON) -m venv $(VENV) && $(PY) -m pip install -q "uv==$(UV_VERSION)"; }
	@$(VENV)/bin/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

# The spark extra has its own lock (requirements-spark.lock: requirements.lock's versions plus pyspark and py4j),
# so that `make test` never installs pyspark for everyone. pyspark 4.0 runs on Java 17 or 21.
lock-spark: ## re-resolve requirements-spark.lock (the dev lock plus the spark extra) from pyproject.toml
	@test -x $(VENV)/bin/uv || { $(PYTHON) -m venv $(VENV) && $(PY) -m pip install -q "uv==$(UV_VERSION)"; }
	@$(VENV)/bin/uv pip compile -q pyproject.toml --extra dev --extra spark --constraints requirements.lock --python-version 3.11 -o requirements-spark.lock

spark: $(STAMP) ## install the spark extra (pyspark) into .venv, for engine: {backend: pyspark}; needs Java 17 or 21
	@command -v java >/dev/null || { echo "make spark: Java is missing; pyspark 4.0 needs Java 17 or 21 (Debian: apt-get install default-jre-headless)" >&2; exit 1; }
	@v=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1); \
	if [ -z "$$v" ] || [ "$$v" -lt 17 ]; then echo "make spark: Java $${v:-of unknown version} found; pyspark 4.0 needs Java 17 or 21" >&2; exit 1; fi
	@$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -r requirements-spark.lock
	@echo "pyspark $$($(PY) -c 'import pyspark; print(pyspark.__version__)') ready in $(VENV) (Java $$(java -version 2>&1 | head -1))"

# update keeps the .po header (Plural-Forms) and obsolete (#~) translations, and ignores the pot's date, so a
# second run changes nothing; -N: no fuzzy guesses, a new msgid stays untranslated until someone translates it.
messages: $(STAMP) ## re-extract the report's msgids (babel.cfg) and merge them into the de and id catalogs
	@$(VENV)/bin/pybabel -q extract -F babel.cfg --no-location --sort-output --omit-header --no-wrap -o lib/lifecycle_audit/locales/messages.pot .
	@$(VENV)/bin/pybabel -q update -N --no-wrap --ignore-obsolete --ignore-pot-creation-date -i lib/lifecycle_audit/locales/messages.pot -d lib/lifecycle_audit/locales
	@echo "catalogs updated: translate new or fuzzy entries in lib/lifecycle_audit/locales/*/LC_MESSAGES/messages.po"

# JupyterLab prints the address with its token when it is ready; no browser is opened from here (a server or a
# container has none): open the printed address. Jupyter refuses to run as root unless told, hence --allow-root.
LAB_PORT ?= 8888
lab: $(STAMP) ## start JupyterLab on notebooks/ (prints the address with its token; LAB_PORT=8888)
	@$(VENV)/bin/jupyter lab notebooks/ --no-browser --port=$(LAB_PORT) $(if $(filter 0,$(shell id -u)),--allow-root)

# The scale table (generation, prepare, stages, pages, wall, peak memory of the whole process tree) and the library
# against hand-written DuckDB SQL, appended to benchmarks/RESULTS.md. BENCH_SIZES=5k for a quick look; the four
# default sizes take about 12 minutes on a quiet 2-core machine (1M: 89 s to generate, 173 s to audit, 3.6 GB).
# BENCH_REPEATS (3), BENCH_TIMEOUT (3600 s per size), BENCH_MAX_GB (8: a process tree above it is stopped and its
# size is a row saying so; the library/SQL measures hold each side's DuckDB to 4 GB, spilling beyond it, so 1M fits),
# BENCH_KEEP=1 keeps the generated data.
BENCH_SIZES ?= 25k,100k,300k,1M
bench: $(STAMP) ## the scale table and library/SQL ratios (on demand; BENCH_SIZES=25k,100k,300k,1M)
	@BENCH_SIZES=$(BENCH_SIZES) $(PY) benchmarks/bench_scale.py

clean: ## remove generated demo data, caches and reports (keeps .venv)
	rm -rf data/demo data/healthy .cache reports/*/
