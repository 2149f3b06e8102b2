# SkyGround: `make demo` and `make test` set up everything they need on Debian 12 (as root).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ASSETS := service/static/vendor/.complete
export PYTHON

.PHONY: help setup system venv assets demo test lint typecheck bench bench-query clean

help:
	@echo "make demo   - install what is missing, start the local database, load demo data, serve http://127.0.0.1:8000"
	@echo "make test   - install what is missing and run the whole test suite"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - import/API figures (PLOTS=50000); per-plot statistics vs exactextract"
	@echo "make bench-query - 5-year series API warm/cold (QUERY_PLOTS=50000, ~31 GB kept in bench/.data; QUERY_BULK=10 loads faster)"

setup: system venv assets

system:
	@bash scripts/setup-system.sh

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $@

assets: $(ASSETS)

$(ASSETS): web/assets.txt scripts/fetch-web-assets.sh
	@bash scripts/fetch-web-assets.sh
	@touch $@

demo: setup
	$(BIN)/skyground demo --imagery tests/data/s2-l2a-barbellino-sen2r

test: setup
	$(BIN)/python -m pytest -p no:cacheprovider --cov --cov-report=term:skip-covered tests

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/bench_frame.py --plots $(or $(PLOTS),50000)
	$(BIN)/python bench/bench_stats.py --plots 10000 100000
	$(BIN)/python bench/bench_ingest.py --size $(or $(INGEST_SIZE),10980) --plots $(or $(INGEST_PLOTS),200000) --rounds $(or $(INGEST_ROUNDS),3)
	$(MAKE) bench-query

# QUERY_BULK=N: all scenes but the newest N written many per statement (much faster than
# ingest's one upsert per scene, same physical layout); unset: every scene through the upsert.
bench-query: setup
	$(BIN)/python bench/bench_query.py --plots $(or $(QUERY_PLOTS),50000) --requests $(or $(QUERY_REQUESTS),1000) $(if $(QUERY_BULK),--bulk $(QUERY_BULK)) $(QUERY_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
