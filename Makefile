# Two commands for a fresh machine: `make demo` (set up + run the demo) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test setup setup-dev

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
