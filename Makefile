# Two entry points: `make run` (EVA's main job) and `make test` (the whole suite).
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip

.PHONY: run test lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(VENV)/bin/eva demo --sagas 300 --failure-rate 0.1 --crash-rate 0.02

test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

bench: $(VENV)/.installed-dev
	$(PIP) install --quiet -e ".[dev,bench]"
	$(VENV)/bin/mypy bench
	$(PY) -m bench.sagas --quick
	$(PY) -m bench.journal --quick

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
