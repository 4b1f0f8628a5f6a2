# The two commands of the README are the contract: `make run` and `make test` do all set-up
# themselves on a fresh Debian machine with Python 3.11 (venv, pip, Debian packages when missing).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKSPACE ?= accord-demo
CONTACTS ?= 5000
SEED ?= 7
PORT ?= 8000

.PHONY: run test lint typecheck unit system-deps venv bench docs clean help

help:
	@echo "make run    build the demo workspace in ./$(WORKSPACE), derive it, show the queue, SLAs and scorecard, then serve the dashboard on 127.0.0.1:$(PORT)"
	@echo "make test   lint, type-check and run every test (installs what is missing)"
	@echo "make bench  run the benchmarks in bench/ (not part of the tests)"

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 (apt-get install python3 python3-venv)"; exit 2; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || bash scripts/system-deps.sh python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(BIN)/.installed

system-deps:
	@bash scripts/system-deps.sh openjdk-17-jre-headless postgresql chromium

run: venv
	$(BIN)/accord demo $(WORKSPACE) --contacts $(CONTACTS) --seed $(SEED) --force
	$(BIN)/accord leads --tier 1 --limit 10 -w $(WORKSPACE)
	$(BIN)/accord sla -w $(WORKSPACE)
	$(BIN)/accord report scorecard -w $(WORKSPACE)
	$(BIN)/accord serve --demo-login --port $(PORT) -w $(WORKSPACE)

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: venv
	$(BIN)/mypy

# --max-worker-restart=0: a worker that dies (a native crash) fails the run at once and names the
# test; replacing it can leave pytest-xdist 3.8's loadfile scheduler waiting forever.
unit: venv
	$(BIN)/pytest -q -n 2 --dist loadfile --max-worker-restart=0

test: venv system-deps lint typecheck unit

bench: venv
	$(BIN)/python bench/import_events.py
	$(BIN)/python bench/generate.py 1M
	$(BIN)/python bench/derive.py 1M
	$(BIN)/python bench/decide.py --sizes 5000,25000

docs: venv
	$(BIN)/accord docs spec > docs/spec-reference.md
	$(BIN)/accord docs cli > docs/cli.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis $(WORKSPACE)
