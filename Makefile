# The two commands: `make run` (the whole stack) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install run test lint format bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## Start API, worker, beat and the Kaspi stub in the foreground (Ctrl-C stops all).
run: install
	$(BIN)/python -m scripts.run

## Run the whole test suite (unit, database and integration tiers).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app workers

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Benchmarks against same-run baselines -> var/bench/latest.json (QUICK=1: under 5 minutes).
bench: install
	command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk) || true
	$(BIN)/python -m benchmarks.run $(if $(QUICK),--quick,)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
