# Set-up is part of every target: a fresh machine needs nothing but python3.11.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run stop test lint demo bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) worker.py

stop: $(STAMP)
	$(PY) worker.py stop

demo: $(STAMP)
	$(PY) starter.py demo

bench: $(STAMP)
	$(PY) -m bench.approve
	$(PY) -m bench.timers
	$(PY) -m bench.notify
	$(PY) -m bench.pages

test: $(STAMP) lint
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy breachclock workflows activities bench starter.py worker.py
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info
