# Taskforce developer commands. `make run` and `make test` are the two the README promises.
# Everything runs from the project's own .venv; it is (re)built when requirements*.txt change.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
PYTEST_ARGS ?=
BENCH_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000

# Python >= 3.12: pyenv shims need PYENV_VERSION to expose a version that isn't the global one.
# Override with `make PYTHON=/path/to/python3.13 ...`.
PYTHON ?=
PYTHON_CANDIDATES := "PYENV_VERSION=3.13.0 python3.13" "PYENV_VERSION=3.12.1 python3.12" python3.13 python3.12 python3

.PHONY: help venv install run migrate test lint format bench worker beat clean

help:
	@echo "make run     install, migrate, load the demo data and serve http://$(HOST):$(PORT)/"
	@echo "make test    run the test suite (pytest)"
	@echo "make lint    ruff check + ruff format --check"
	@echo "make format  ruff format + ruff check --fix"
	@echo "make bench   run the benchmark harness (bench/)"
	@echo "make worker  Celery worker (needs REDIS_URL)"
	@echo "make beat    Celery beat (needs REDIS_URL)"
	@echo "make clean   remove .venv and caches"

$(PY):
	@set -e; py=""; \
	for cand in $(if $(PYTHON),"$(PYTHON)",$(PYTHON_CANDIDATES)); do \
	  if env $$cand -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then py=$$cand; break; fi; \
	done; \
	if [ -z "$$py" ]; then \
	  echo "error: Taskforce needs Python >= 3.12; tried: $(if $(PYTHON),$(PYTHON),$(PYTHON_CANDIDATES))." >&2; \
	  echo "       Install one (e.g. pyenv install 3.13) or run: make PYTHON=/path/to/python3.13 ..." >&2; \
	  exit 1; \
	fi; \
	echo "Creating $(VENV) with: $$py ($$(env $$py -c 'import sys; print(sys.version.split()[0])'))"; \
	env $$py -m venv $(VENV)

# The stamp lives inside .venv, so a new venv always gets a fresh install.
$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(PY)
install: $(STAMP)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

# Each app seeds its own part of the demo (members first: the others build on its task force and people).
DEMO_SEEDS := seed_demo seed_meetings seed_cases seed_mous

run: migrate
	for seed in $(DEMO_SEEDS); do $(PY) manage.py $$seed || exit 1; done
	$(PY) manage.py runserver $(HOST):$(PORT)

# pytest exits 5 when it collected nothing: that is a broken suite, not a pass (make fails on any non-zero).
test: $(STAMP)
	@$(PY) -m pytest $(PYTEST_ARGS) || { rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests (exit 5)" >&2; fi; exit $$rc; }

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Needs PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL); see the README's Benchmarks section.
bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

worker: $(STAMP)
	$(VENV)/bin/celery -A taskforce worker -l info

# The schedule file is beat's bookkeeping, not source: keep it out of the work tree.
beat: $(STAMP)
	$(VENV)/bin/celery -A taskforce beat -l info -s $(VENV)/celerybeat-schedule

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
