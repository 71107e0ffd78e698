"""Fixtures shared by the whole suite: a fresh control database and a real worker.

The suite runs against the real services started by `python -m infra.local up`
(`make test` does that first). The control database is recreated once per run
and migrated; its streaming replica receives it like any other write.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from psycopg2 import sql

from routers.planes import Plane, plane_of
from routers.spec import TenantSpec

ROOT = Path(__file__).resolve().parents[1]
# Suites marked by where they live, so `-m "not reliability"` or `-m bench` select them.
MARKED_DIRECTORIES = {"reliability": pytest.mark.reliability, "bench": pytest.mark.bench}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the reliability and bench suites by their directory."""
    for item in items:
        parts = item.path.relative_to(ROOT).parts
        if len(parts) > 1 and parts[0] == "tests" and parts[1] in MARKED_DIRECTORIES:
            item.add_marker(MARKED_DIRECTORIES[parts[1]])


def _maintenance_connection() -> psycopg2.extensions.connection:
    db = settings.DATABASES["default"]
    conn = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"],
                            password=db["PASSWORD"], dbname="postgres")
    conn.autocommit = True
    return conn


def recreate_database(name: str) -> None:
    """Drop (forcing out sessions) and create an empty database on server A."""
    conn = _maintenance_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    """Recreate and migrate the test control database (replicas follow by streaming)."""
    from django.db import connections

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        connections.close_all()
        recreate_database(settings.DATABASES["default"]["NAME"])
        call_command("migrate", database="default", verbosity=0, interactive=False)
    yield
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        connections.close_all()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None) -> Iterator[subprocess.Popen[bytes]]:
    """Start a real Celery worker on the test queue; stop it at the end of the run."""
    from core.celery import app

    app.control.purge()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.test"}
    log = open(ROOT / ".local" / "log" / "test-worker.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "core", "worker", "--loglevel=INFO", "--concurrency=2",
         "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "--without-gossip", "--without-mingle",
         "-n", f"tessera-test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    _wait_for_worker(app, proc)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _wait_for_worker(app: object, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    name = f"tessera-test-{os.getpid()}@"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the Celery worker exited; see .local/log/test-worker.log")
        replies = app.control.ping(timeout=0.5) or []  # type: ignore[attr-defined]
        if any(next(iter(reply)).startswith(name) for reply in replies):
            return
    raise RuntimeError(f"the Celery worker did not answer within {timeout}s")


# --- Tenant databases ------------------------------------------------------------

# Truncated after each test, read from the app registry so a new model is cleaned
# up without editing a list. Kept: rows that migrations create (content types,
# permissions), the fleet-migration ledger (tests read their own runs by id) and
# the test-only fleetapp, whose tables come and go with the migrations a test picks.
KEPT_MODELS = frozenset({"contenttypes.ContentType", "auth.Permission"})
KEPT_APPS = frozenset({"migrations_tooling", "fleetapp"})


def tables_of(*planes: Plane) -> tuple[str, ...]:
    """Return the tables of the models stored in databases of `planes` that tests empty."""
    return tuple(sorted({
        model._meta.db_table for model in apps.get_models(include_auto_created=True)
        if plane_of(model._meta.app_label) in planes and model._meta.managed and not model._meta.proxy
        and model._meta.label not in KEPT_MODELS and model._meta.app_label not in KEPT_APPS
    }))


@pytest.fixture(scope="session")
def tenant_templates(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> None:
    """Build the migrated template database on every server (once per run)."""
    from core.dbservers import configured_servers
    from tenants import dbops
    from tenants.templates import ensure_template

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        for server in configured_servers():  # the suite owns these: always start from scratch
            dbops.drop_database(server, settings.TENANT_TEMPLATE_DB)
            ensure_template(server)


def create_tenant_database(slug: str, server: str) -> TenantSpec:
    """Clone a fresh tenant database from the server's template; return its spec."""
    from routers.spec import database_name_for
    from tenants import dbops

    spec = TenantSpec(slug, server, database_name_for(slug, settings.TENANT_DB_NAME_PREFIX))
    dbops.drop_database(server, spec.database)
    dbops.create_database(server, spec.database, template=settings.TENANT_TEMPLATE_DB)
    dbops.apply_database_settings(server, spec.database)
    return spec


def truncate_tenant(spec: TenantSpec) -> None:
    from tenants import dbops

    conn = psycopg2.connect(**_direct_params(spec, dbops))
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(tables_of(Plane.TENANT, Plane.BOTH))} RESTART IDENTITY CASCADE")
    finally:
        conn.close()


def _direct_params(spec: TenantSpec, dbops: object) -> dict[str, object]:
    from core.dbservers import configured_servers

    server = configured_servers()[spec.server]
    return {"host": server.primary.host, "port": server.primary.port, "user": server.user,
            "password": server.password, "dbname": spec.database}


@pytest.fixture(scope="session")
def tenant_world(
    tenant_templates: None, django_db_blocker: pytest.FixtureRequest
) -> Iterator[dict[str, TenantSpec]]:
    """Two tenant databases: `alpha` on server a (with a replica), `beta` on server b."""
    from routers import unregister
    from tenants import dbops

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        world = {"alpha": create_tenant_database("alpha", "a"), "beta": create_tenant_database("beta", "b")}
        yield world
        from django.db import connections

        connections.close_all()
        for spec in world.values():
            unregister(spec.slug)
            dbops.drop_database(spec.server, spec.database)


@pytest.fixture
def tenants(
    tenant_world: dict[str, TenantSpec], django_db_blocker: pytest.FixtureRequest
) -> Iterator[dict[str, TenantSpec]]:
    """The two-tenant world, emptied (database and cache) around each test."""
    from routers import ensure_registered

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        for spec in tenant_world.values():  # an earlier test may have unregistered or evicted them
            ensure_registered(spec)
        _clear_tenant_caches(tenant_world)
        yield tenant_world
        for spec in tenant_world.values():
            truncate_tenant(spec)
        _clear_tenant_caches(tenant_world)


def _clear_tenant_caches(world: dict[str, TenantSpec]) -> None:
    from routers.cache import tenant_keys_purge

    for spec in world.values():  # requests resolve the slug to a control-plane row with an id of its own
        tenant_keys_purge(spec, every_incarnation=True)


# --- Control plane -----------------------------------------------------------------

PROVISIONED_PREFIX = "p-"  # tenants provisioned by tests; their databases are dropped after each test


def _truncate_control() -> None:
    db = settings.DATABASES["default"]
    conn = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
                            dbname=db["NAME"])
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(tables_of(Plane.CONTROL, Plane.BOTH))} RESTART IDENTITY CASCADE")
    finally:
        conn.close()


def _drop_provisioned_databases() -> None:
    from core.dbservers import configured_servers
    from routers import unregister
    from tenants import dbops

    prefix = settings.TENANT_DB_NAME_PREFIX + PROVISIONED_PREFIX.replace("-", "_")
    for server in configured_servers():
        for name in dbops.list_databases(server, prefix):
            unregister(name[len(settings.TENANT_DB_NAME_PREFIX):].replace("_", "-"))
            dbops.drop_database(server, name)


@pytest.fixture
def control_db(django_db_setup: None, tenant_templates: None,
               django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    """Committed control-plane data (workers see it); emptied, with provisioned databases dropped, after."""
    from tenants import resolution

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        resolution.clear_local()
        yield
        from django.db import connections

        connections.close_all()
        _drop_provisioned_databases()
        _truncate_control()
        resolution.invalidate()


def free_port() -> int:
    """Return a loopback port nothing listens on now (for a server to start, or a dead address)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], object], timeout: float, what: str = "condition") -> None:
    """Poll `predicate` until it is true, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout}s")
