"""Fleets of real tenant databases for migrate_tenants tests, and helpers to poke at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import pytest
from django.db import connections

from core.dbservers import configured_servers
from migrations_tooling import runner
from migrations_tooling.models import MigrationRecord, MigrationRun
from tenants import services
from tenants.models import Tenant
from tenants.templates import ensure_template
from tests.conftest import create_tenant_database
from tests.factories import TenantFactory
from tests.projects.conftest import product  # noqa: F401  (shared fixtures)
from tests.tenants.conftest import platform  # noqa: F401

V2 = {"fleetapp": "tests.fleetapp.migrations_v2"}
UNSAFE = {"fleetapp": "tests.fleetapp.migrations_unsafe"}
DATA = {"fleetapp": "tests.fleetapp.migrations_data"}


def connect(slug: str) -> Any:
    """Open an autocommit connection straight to `slug`'s database."""
    tenant = Tenant.objects.get(slug=slug)
    server = configured_servers()[tenant.server_id]
    conn = psycopg2.connect(host=server.primary.host, port=server.primary.port, user=server.user,
                            password=server.password, dbname=tenant.database)
    conn.autocommit = True
    return conn


def sql(slug: str, statement: str) -> list[tuple[Any, ...]]:
    conn = connect(slug)
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    finally:
        conn.close()


def has_color(slug: str) -> bool:
    return bool(sql(slug, "SELECT 1 FROM information_schema.columns WHERE table_name = 'fleetapp_widget' "
                          "AND column_name = 'color'"))


def run(**options: Any) -> MigrationRun:
    return runner.execute(runner.start_run(runner.RunOptions(**options)).pk)


def statuses(result: MigrationRun) -> dict[str, str]:
    """Return database label -> record status of a run."""
    return dict(MigrationRecord.objects.filter(run=result).values_list("database_label", "status"))


def tenant_records(result: MigrationRun) -> Any:
    return MigrationRecord.objects.filter(run=result, database_label__startswith="p-")


@pytest.fixture
def make_fleet(control_db: None) -> Iterator[Callable[[int], list[str]]]:
    """Return a factory of active tenants `p-fleet-<i>` cloned from the template, alternating servers."""

    def make(count: int) -> list[str]:
        services.servers_sync()
        slugs = [f"p-fleet-{i}" for i in range(count)]
        for i, slug in enumerate(slugs):
            spec = create_tenant_database(slug, "ab"[i % 2])
            TenantFactory.for_spec(spec)
        return slugs

    yield make
    for server in configured_servers():  # back to the suite's template for the tests that follow
        ensure_template(server)
    with connections["default"].cursor() as cursor:  # the control plane records fleetapp's migrations too
        cursor.execute("DELETE FROM django_migrations WHERE app = 'fleetapp' AND name <> '0001_initial'")


@pytest.fixture
def fleet(make_fleet: Callable[[int], list[str]]) -> list[str]:
    """Six tenants, three on each server."""
    return make_fleet(6)
