"""The poolers bound PostgreSQL server connections per server and authenticate cheaply (real PgBouncer)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connections

from core.dbservers import configured_servers
from infra.local import config as local
from projects.models import Project
from routers import tenant_context
from routers.runtime import runtime
from routers.spec import TenantSpec
from tenants import dbops
from tests.conftest import create_tenant_database
from tests.routers.helpers import superuser_query

SERVER = "b"


def pooler_admin(command: str) -> list[tuple]:
    pooler = configured_servers()[SERVER].pooler
    assert pooler is not None
    return superuser_query(pooler.port, command, dbname="pgbouncer", password="postgres")


def pooler_setting(name: str) -> str:
    return next(str(row[1]) for row in pooler_admin("SHOW CONFIG") if row[0] == name)


@contextmanager
def server_cap(value: int) -> Iterator[None]:
    """Lower the pooler's per-server cap for the block (the admin console's SET), then restore it."""
    before = pooler_setting("max_user_connections")
    pooler_admin(f"SET max_user_connections = {value}")
    try:
        yield
    finally:
        pooler_admin(f"SET max_user_connections = {before}")


@pytest.fixture
def many_tenants(tenant_templates: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[list[TenantSpec]]:
    """Six tenant databases on server b."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        specs = [create_tenant_database(f"cap-{i}", SERVER) for i in range(6)]
        yield specs
        connections.close_all()
        for spec in specs:
            runtime.registry.unregister(spec.slug)
            dbops.drop_database(SERVER, spec.database)


LOCAL_PORT = 7  # SHOW SERVERS: type, user, database, state, addr, port, local_addr, local_port, ...


def server_connections(specs: list[TenantSpec]) -> tuple[int, int]:
    """Return the backends of `specs`' databases PostgreSQL lists, and how many of them the pooler holds.

    A server connection the pooler closed to make room (at the cap it evicts an idle one of another
    database) stays a backend until that process has exited, which on a busy machine can outlast
    the new connection's start: PostgreSQL then lists one more than the pooler holds.
    """
    names = ", ".join(f"'{spec.database}'" for spec in specs)
    port = configured_servers()[SERVER].primary.port
    clients = [row[0] for row in superuser_query(
        port, f"SELECT client_port FROM pg_stat_activity WHERE datname IN ({names})")]
    held = {row[LOCAL_PORT] for row in pooler_admin("SHOW SERVERS")}
    return len(clients), sum(1 for client in clients if client in held)


def settled_backends(specs: list[TenantSpec], most: int, timeout: float = 10.0) -> tuple[int, int]:
    """Wait until PostgreSQL lists at most `most` backends of `specs` (evicted ones have exited);
    return what `server_connections` then says."""
    deadline = time.monotonic() + timeout
    while (seen := server_connections(specs))[0] > most and time.monotonic() < deadline:
        time.sleep(0.05)
    return seen


def test_server_connections_stay_under_the_cap_with_more_tenants_than_the_cap_under_concurrent_requests(
        many_tenants: list[TenantSpec]) -> None:
    cap, errors, peak, done = 2, [], {"held": 0, "listed": 0}, threading.Event()
    start = threading.Barrier(len(many_tenants) * 2 + 1)

    def serve(spec: TenantSpec) -> None:
        try:
            start.wait(timeout=30)
            for _ in range(15):
                with tenant_context(spec):
                    list(Project.objects.all())
                connections.close_all()  # the next request opens a new client connection
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    def watch() -> None:
        start.wait(timeout=30)
        while not done.is_set():
            listed, held = server_connections(many_tenants)
            peak["held"], peak["listed"] = max(peak["held"], held), max(peak["listed"], listed)

    with server_cap(cap):
        threads = [threading.Thread(target=serve, args=(spec,)) for spec in many_tenants * 2]
        watcher = threading.Thread(target=watch)
        for thread in [*threads, watcher]:
            thread.start()
        for thread in threads:
            thread.join()
        done.set()
        watcher.join()
        # Anything PostgreSQL listed beyond the cap was a closed connection still exiting: gone now,
        # and the pooler still holds (idle) every backend that is left.
        listed_after, held_after = settled_backends(many_tenants, cap)
    assert errors == []
    assert peak["listed"] >= 1  # the watcher saw the load
    assert peak["held"] <= cap  # the pooler never held more than the cap
    assert 1 <= listed_after == held_after <= cap


def test_each_pooler_caps_server_connections_at_the_configured_setting(tenant_templates: None) -> None:
    assert int(pooler_setting("max_user_connections")) == settings.TENANT_SERVER_CONNECTIONS_MAX
    assert pooler_setting("min_pool_size") == "0"
    assert int(pooler_setting("max_db_connections")) <= settings.TENANT_SERVER_CONNECTIONS_MAX


def test_the_pooler_auth_file_holds_the_servers_scram_secret_not_the_password() -> None:
    userlist = (local.LOCAL_DIR / "pgbouncer" / SERVER / "userlist.txt").read_text()
    app_line = next(line for line in userlist.splitlines() if line.startswith(f'"{local.APP_USER}"'))
    secret = superuser_query(configured_servers()[SERVER].primary.port,
                             f"SELECT rolpassword FROM pg_authid WHERE rolname = '{local.APP_USER}'")[0][0]
    assert app_line == f'"{local.APP_USER}" "{secret}"'
    assert secret.startswith("SCRAM-SHA-256$") and local.APP_PASSWORD not in secret


def test_a_new_tenant_connection_reports_djangos_time_zone_so_connect_sends_no_set(
        tenants: dict[str, TenantSpec]) -> None:
    spec = tenants["beta"]
    runtime.registry.ensure(spec)
    wrapper = connections[spec.alias]
    wrapper.close()
    wrapper.ensure_connection()
    assert wrapper.connection.get_parameter_status("TimeZone") == wrapper.timezone_name
