# `make run` (the whole stack) and `make test` (the whole suite); `make help` lists the rest.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Checks the Python version, rebuilds a broken venv, installs what changed (pip output shown).
BOOTSTRAP = $(PYTHON) scripts/bootstrap.py $(VENV)

.DEFAULT_GOAL := help
.PHONY: help install install-runtime run stop demo test test-fast test-cluster lint format bench clean distclean
.PHONY: contract contract-check

help: ## List the targets
	@echo "Targets:"
	@awk -F':.*## ' '/^[a-z-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install-runtime: ## Create .venv and install the runtime requirements only
	@$(BOOTSTRAP) requirements.txt

install: ## Create .venv and install runtime + test/dev requirements
	@$(BOOTSTRAP) requirements-dev.txt
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(NODE_TOOLS); \
	else echo "install: no npm: the contract's tools (clients/typescript) are not installed"; fi

run: install-runtime ## Start API, worker, beat and Kaspi stub (Ctrl-C stops all, embedded servers too)
	@$(BIN)/python -m scripts.run

stop: ## Stop a `make run` still running, or what a killed one left behind
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m scripts.stop; else echo "nothing to stop (no $(VENV))"; fi

demo: install-runtime ## Buy a credit end to end against the running `make run`, step by step
	@$(BIN)/python -m scripts.demo

# The whole suite runs in TEST_JOBS processes, one test file at a time each (a file's
# servers are started once), in the order tests/conftest.py collects them (the files
# of minutes first); TEST_JOBS=0 runs it in this process alone.
TEST_JOBS ?= 2
XDIST = $(if $(filter-out 0,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder,)

test: install ## Run the whole test suite in TEST_JOBS=2 processes (see README: what the tests touch)
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

test-fast: install ## The unit and db tiers only (about half a minute): the inner loop
	$(BIN)/python -m pytest tests/unit tests/db $(PYTEST_ARGS)

test-cluster: install ## Two hosts behind HAProxy and PgBouncer, tasks on RabbitMQ, one killed mid-load (needs Debian's pgbouncer, haproxy, rabbitmq-server)
	BILLING_CLUSTER_TESTS=1 $(BIN)/python -m pytest tests/cluster -p no:cacheprovider --no-cov $(PYTEST_ARGS)

lint: install ## ruff check, ruff format check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app workers

format: install ## Fix what ruff can fix, format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install ## Benchmarks against same-run baselines -> var/bench/latest.json (QUICK=1: < 5 min)
	command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk) || true
	$(BIN)/python -m benchmarks.run $(if $(QUICK),--quick,)

clean: stop ## Stop everything, delete var/ (embedded databases, stub state, logs) and caches
	rm -rf var .pytest_cache .ruff_cache .mypy_cache
	@if [ -f .env ] && head -1 .env | grep -q '^# Written by `make run`'; then rm -f .env; fi

distclean: clean ## `make clean` and delete .venv too
	rm -rf $(VENV)

# The contract (openapi.json, clients/): see docs/CONTRACT.md. Its tools come from the
# npm registry exactly as clients/typescript/package-lock.json pins them (npm ci).
NODE_TOOLS := clients/typescript/node_modules/.package-lock.json

$(NODE_TOOLS): clients/typescript/package.json clients/typescript/package-lock.json
	npm ci --prefix clients/typescript --no-audit --no-fund
	@touch $@

contract: install $(NODE_TOOLS) ## Regenerate openapi.json, clients/typescript's types and clients/python from the app
	$(BIN)/python -m scripts.contract generate

contract-check: install $(NODE_TOOLS) ## Fail on a contract drifted from the app, an unannounced breaking change, or a type error
	$(BIN)/python -m scripts.contract check
