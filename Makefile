# ge2conn — run `make help` for the list of targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU build of PyTorch (a local wheel on the project's machines); set TORCH_SPEC="torch" on a CUDA machine.
TORCH_SPEC ?= torch==2.13.0
# The offline mirror of upstream data, when it sits beside the checkout (as in CI).
ifeq ($(GE2CONN_MIRROR),)
ifneq ($(wildcard ../shared/data/mirror),)
export GE2CONN_MIRROR := $(abspath ../shared/data/mirror)
endif
endif
# Keep demo/reproduce outputs inside the checkout unless the user says otherwise.
export GE2CONN_HOME ?= $(HOME)/.cache/ge2conn
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup test test-all test-fast demo lint format bench reproduce-table1 reproduce-table1-quick reproduce-table1-public fixtures clean

help: ## Show this help.
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | awk -F'\t' '{printf "  \033[36m%-24s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

setup: $(VENV)/.installed ## Create .venv and install ge2conn with its dev tools (CPU torch).

test: setup ## Run the test suite (real-data tests use $$GE2CONN_MIRROR; excludes `expensive` tests).
	$(BIN)/python -m pytest -q -m "not expensive" $(PYTEST_ARGS)

test-all: setup ## Run every test, the expensive (torch.compile) ones too.
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-fast: setup ## Run the tests without the slow (DDP, multi-epoch) and expensive ones.
	$(BIN)/python -m pytest -q -m "not slow and not expensive" $(PYTEST_ARGS)

demo: setup ## Build dk82, train and test a small SMT with [CLS] on a random split, print test metrics (~2 min from a fresh clone).
	$(BIN)/ge2conn data build dk82
	$(BIN)/python -m ge2conn.experiments.demo

lint: setup ## ruff + mypy.
	$(BIN)/ruff check ge2conn tests benchmarks scripts
	$(BIN)/mypy

format: setup ## Apply ruff's fixes and formatting of imports.
	$(BIN)/ruff check --fix ge2conn tests benchmarks scripts

bench: setup ## Run the benchmark suite and print the results table (see benchmarks/README.md).
	$(BIN)/python benchmarks/run_all.py

reproduce-table1-quick: setup ## Quick Table 1 on dk82 (1 round, default hyperparameters, few epochs; ~75 min on a busy 2-core CPU).
	$(BIN)/ge2conn data build dk82
	$(BIN)/ge2conn experiment run configs/experiments/table1_quick.yaml
	$(BIN)/ge2conn experiment report runs/table1_quick

reproduce-table1: setup ## Paper protocol (10 rounds × 4 folds, nested tuning, true vs null) on dk82. Needs a GPU.
	$(BIN)/ge2conn data build dk82
	$(BIN)/ge2conn experiment run configs/experiments/table1.yaml
	$(BIN)/ge2conn experiment report runs/table1

reproduce-table1-public: setup ## Public Table 1 at power: ukbb-s100, schaefer300-ctx, dk68; random + spatial; 3 rounds x 4 folds; true vs null.
	$(BIN)/ge2conn data build ukbb-s100
	$(BIN)/ge2conn data build schaefer300-ctx
	$(BIN)/ge2conn data build dk68
	$(BIN)/ge2conn experiment run configs/experiments/table1_public.yaml
	$(BIN)/ge2conn experiment report runs/table1_public

fixtures: setup ## Regenerate the synthetic unit-test fixture (tests/data/synthetic.h5).
	$(BIN)/python tests/data/make_fixtures.py

clean: ## Remove the virtual environment and caches (not the dataset cache in $$GE2CONN_HOME).
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache lightning_logs
