# Set-up is part of every target: a fresh machine needs nothing but python3.11.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Python's bytecode caches, also where the environment turns them off
# (PYTHONDONTWRITEBYTECODE=1, as on the machines here): the test suite starts some three
# hundred Python processes, and without them each one compiled the checkout's modules
# from source again, and each test worker rewrote every test module's asserts (collecting
# the suite took 27 s of a core per worker, 13 s with the caches).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run run-sms stop test test-fast docs lint demo bench clean goldens

# The dependencies go in with uv (from PyPI, by pip): it fetches them in parallel, about
# 40 s on a fresh 2-core machine where pip took 90 s. pip stays in the virtualenv.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) worker.py

run-sms: $(STAMP)
	$(PY) -m breachclock.app.sms_gateway

stop: $(STAMP)
	$(PY) worker.py stop

demo: $(STAMP)
	$(PY) starter.py demo

bench: $(STAMP)
	$(PY) -m bench.approve
	$(PY) -m bench.timers
	$(PY) -m bench.notify
	$(PY) -m bench.scale
	$(PY) -m bench.pages
	$(PY) -m bench.register

# Tests run on every core and one more (pytest-xdist, tests/schedule.py: a fifth of the
# suite waits); worksteal evens out the long fault tests.
# Tiers (tests/tiers.py): domain, engine, browser, slow. test-fast: the first two.
PYTEST := $(PY) -m pytest -q -n auto --dist worksteal

# The linters run beside the tests (half a minute of one core, mostly mypy's), their
# report after the tests'; either failing fails the target.
test: $(STAMP)
	@$(MAKE) --no-print-directory lint > $(VENV)/lint.log 2>&1 & linting=$$!; \
	$(PYTEST) --durations=30; tests=$$?; \
	wait $$linting; linted=$$?; \
	echo "--- lint (ruff, mypy, import-linter)"; cat $(VENV)/lint.log; \
	test $$tests -eq 0 -a $$linted -eq 0

test-fast: $(STAMP)
	$(PYTEST) -m "domain or engine"

# The documentation site (docs/, mkdocs.yml) into site/, strictly: a warning fails.
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy breachclock workflows activities bench tools starter.py worker.py
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build site *.egg-info

goldens: $(STAMP)
	$(PY) -m tests.golden.regenerate
