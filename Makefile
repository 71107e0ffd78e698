# Tessera: `make run` serves a demo platform, `make test` runs the whole suite.
# Both set everything up from scratch (virtualenv, packages, local PostgreSQL,
# replica, PgBouncer, Redis) and are safe to run again.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install services run stop down status shell test test-fast lint typecheck bench reliability clean manage

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

services: install
	$(PY) -m infra.local up

run: services
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py bootstrap_demo
	$(PY) -m infra.local serve --settings core.settings.local
	@$(PY) manage.py bootstrap_demo --summary --port $${TESSERA_WEB_PORT:-8000}

# ARGS: a management command and its options, run in the virtualenv against the local services,
# e.g. `make manage ARGS="migrate_tenants --plan"`.
manage: services
	$(PY) manage.py $(ARGS)

stop:
	$(PY) -m infra.local stop-app

# `make shell TENANT=demo`: a Django shell inside that tenant's context; without TENANT, the control plane.
shell: services
	$(PY) manage.py $(if $(TENANT),tenant_shell $(TENANT),shell)

down:
	$(PY) -m infra.local down

status:
	$(PY) -m infra.local status

test: services lint typecheck
	$(PY) -m pytest

# Unit tests only: pure logic, no service started or needed (seconds).
test-fast: install
	$(PY) -m pytest -m unit -q

# ruff (style), lint-imports (the layering contracts in setup.cfg), vulture (dead code; pyproject.toml).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/vulture

BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[bench]'
	touch $(BENCH_STAMP)

# BENCH_ARGS: e.g. `--quick`, or benchmark names (`make bench BENCH_ARGS=http_overhead`).
bench: services $(BENCH_STAMP)
	$(PY) -m bench $(BENCH_ARGS)

reliability: services
	$(PY) -m pytest -m reliability

typecheck: install
	$(VENV)/bin/mypy core routers tenants migrations_tooling projects

clean: down
	rm -rf .local $(VENV)
