"""Pooled tenant connections are shared between a process's threads, safely (real PgBouncer)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections
from django.test import override_settings
from psycopg2 import extensions

from projects.models import Project
from routers import TenantSpec, consistency, registry, tenant_atomic, tenant_context
from routers.pool import SharedPool, pool_key
from routers.runtime import runtime
from tests.routers.helpers import pgbouncer_clients, superuser_query, wait_pgbouncer_clients


def _in_thread(work: Callable[[], Any]) -> Any:
    """Run `work` in a new thread (its own Django connections) and return its result."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = work()
        finally:
            connections.close_all()  # what the end of a request does (CONN_MAX_AGE 0): back to the pool

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    return result.get("value")


def _pooler_forgot_earlier_clients(spec: TenantSpec) -> int:
    """Wait until the pooler lists no client of `spec`'s database (this process closed its own, and
    a busy PgBouncer learns of a close asynchronously); return the pooler's port."""
    pooler = registry.server_for(spec).pooler
    assert pooler is not None
    wait_pgbouncer_clients(pooler.port, spec.database, 0)
    return pooler.port


def _request(spec: TenantSpec) -> int:
    """Serve one read of `spec` like a request, returning the id of the client connection it used."""
    with consistency.read_scope(primary_only=True), tenant_context(spec):
        assert Project.objects.count() == 0
        return id(connections[spec.alias].connection)


@pytest.fixture
def fresh_runtime(tenants: dict[str, TenantSpec], django_db_blocker: pytest.FixtureRequest,
                  ) -> Iterator[dict[str, TenantSpec]]:
    """The two-tenant world with no idle shared connection left by earlier tests."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        connections.close_all()
        runtime.reset()
        gc.collect()  # a wrapper of an ended thread closes its connection when it is collected
        for spec in tenants.values():
            runtime.registry.ensure(spec)
        yield tenants
        connections.close_all()


def test_another_thread_takes_the_connection_a_request_returned(fresh_runtime: dict[str, TenantSpec]) -> None:
    beta = fresh_runtime["beta"]
    port = _pooler_forgot_earlier_clients(beta)
    hits = runtime.pool.hits
    first = _in_thread(lambda: _request(beta))
    second = _in_thread(lambda: _request(beta))
    assert first == second  # the very same client connection: no second login
    assert runtime.pool.hits == hits + 1
    assert pgbouncer_clients(port, beta.database) == 1


def test_a_connection_the_pooler_closed_is_dropped_without_a_ping(fresh_runtime: dict[str, TenantSpec]) -> None:
    beta = fresh_runtime["beta"]
    pooler = registry.server_for(beta).pooler
    assert pooler is not None
    _in_thread(lambda: _request(beta))  # its connection is now idle in the pool
    # The pooler drops the database's client connections, as a restart of it would.
    for command in (f"KILL {beta.database}", f"RESUME {beta.database}"):
        superuser_query(pooler.port, command, dbname="pgbouncer", password="postgres")
    misses = runtime.pool.misses
    # Past the health-check window but far from a ping: the quiet-socket check alone must catch it.
    with override_settings(DB_HEALTH_CHECK_IDLE_SECONDS=0, TENANT_POOL_PING_SECONDS=3600):
        _in_thread(lambda: _request(beta))  # would fail with "server closed the connection" if handed out
    assert runtime.pool.misses == misses + 1  # the closed one was dropped, a new one opened


def test_a_shared_connection_never_serves_another_tenant(fresh_runtime: dict[str, TenantSpec]) -> None:
    alpha, beta = fresh_runtime["alpha"], fresh_runtime["beta"]
    _in_thread(lambda: _request(beta))
    seen = _in_thread(lambda: _request_database(alpha))
    assert seen == alpha.database
    assert runtime.pool.idle_count() == 2  # beta's and alpha's, each filed under its own alias


def _request_database(spec: TenantSpec) -> str:
    with consistency.read_scope(primary_only=True), tenant_context(spec):
        assert Project.objects.count() == 0
        return str(connections[spec.alias].connection.info.dbname)


def test_unregistering_a_tenant_closes_its_idle_shared_connections(fresh_runtime: dict[str, TenantSpec]) -> None:
    beta = fresh_runtime["beta"]
    port = _pooler_forgot_earlier_clients(beta)
    _in_thread(lambda: _request(beta))
    assert pgbouncer_clients(port, beta.database) == 1
    runtime.registry.unregister(beta.slug)  # deleted, moved, or its database about to be dropped
    assert runtime.pool.idle_count() == 0
    wait_pgbouncer_clients(port, beta.database, 0)  # closed: the pooler drops it as it reads the EOF


def test_reset_closes_every_idle_shared_connection(fresh_runtime: dict[str, TenantSpec]) -> None:
    _in_thread(lambda: _request(fresh_runtime["beta"]))
    assert runtime.stats()["idle_shared"] == 1
    runtime.reset()
    assert runtime.stats()["idle_shared"] == 0 and runtime.registry.count() == 0


def test_a_connection_closed_inside_a_transaction_is_not_shared(fresh_runtime: dict[str, TenantSpec]) -> None:
    beta = fresh_runtime["beta"]

    def close_mid_transaction() -> None:
        with consistency.read_scope(), tenant_context(beta), tenant_atomic():
            Project.objects.create(name="never", key="NV")
            connections[beta.alias].close()  # a request torn down with its transaction open

    _in_thread(close_mid_transaction)
    assert runtime.pool.idle_count() == 0
    with tenant_context(beta):
        assert not Project.objects.filter(name="never").exists()


def test_a_connection_with_another_time_zone_is_not_shared(fresh_runtime: dict[str, TenantSpec]) -> None:
    beta = fresh_runtime["beta"]

    def leave_session_state() -> None:
        with (consistency.read_scope(primary_only=True), tenant_context(beta),
              connections[beta.alias].cursor() as cursor):
            cursor.execute("SET TIME ZONE 'Europe/Paris'")  # session state the next request must not inherit

    _in_thread(leave_session_state)
    assert runtime.pool.idle_count() == 0


@pytest.mark.unit
def test_the_pool_refuses_a_connection_in_a_transaction_and_files_by_alias() -> None:
    pool = SharedPool()

    class FakeInfo:
        transaction_status = extensions.TRANSACTION_STATUS_INTRANS
        dbname = "t_x"

    class FakeConn:
        closed = 0
        info = FakeInfo()

        def close(self) -> None:
            self.closed = 1

    key = pool_key("tenant:x", {"dbname": "t_x", "host": "h"})
    assert not pool.give_back(key, FakeConn())
    FakeInfo.transaction_status = extensions.TRANSACTION_STATUS_IDLE
    conn = FakeConn()
    assert pool.give_back(key, conn)
    assert pool.take(pool_key("tenant:y", {"dbname": "t_x", "host": "h"}), "t_x", check_after=60) is None
    assert pool.take(key, "t_y", check_after=60) is None  # reports another database: closed, never handed out
    assert conn.closed and pool.idle_count() == 0
