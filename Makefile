# Two commands for a fresh machine: `make demo` (set up + run the demo) and `make test`.
# `make test-floors` (CI runs it after `make test`): the tests again, on the oldest versions pyproject allows.
PYTHON ?= python3
VENV ?= .venv
FLOORS_VENV ?= .venv-floors
BIN := $(VENV)/bin

.PHONY: demo test test-floors setup setup-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install -q -e .

setup-dev: $(BIN)/python
	$(BIN)/pip install -q -e ".[train,dev,vcam,heic]"

demo: setup
	$(BIN)/rtstyle demo

test: setup-dev
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -rs

# A fresh venv with every core dependency at its floor (scripts/floor_constraints.py pins pyproject's >= bounds), no
# torch and no extra: the tests that need neither must pass there, and the others skip (-rs lists them).
test-floors:
	rm -rf $(FLOORS_VENV)
	$(PYTHON) -m venv $(FLOORS_VENV)
	$(PYTHON) scripts/floor_constraints.py > $(FLOORS_VENV)/floors.txt
	$(FLOORS_VENV)/bin/pip install -q -c $(FLOORS_VENV)/floors.txt -e . pytest pytest-timeout
	$(FLOORS_VENV)/bin/pip freeze --exclude-editable | tr '\n' ' ' && echo
	$(FLOORS_VENV)/bin/python -m pytest -q -rs -p no:cacheprovider
