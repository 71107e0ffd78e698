"""Client connections to a pooler are shared between the threads of a process (real PgBouncer)."""

from __future__ import annotations

import threading

from django.db import connections
from django.test import override_settings

from core.db.backends.postgresql import shared
from projects.models import Project
from routers import TenantSpec, budget, registry, tenant_context


def _raw_connection_after_query(spec: TenantSpec, *, close: bool = True) -> object:
    """In a new thread, query `spec`, close as a request's end does; return the raw connection used."""
    seen: list[object] = []

    def run() -> None:
        with tenant_context(spec):
            Project.objects.exists()
            seen.append(connections[spec.alias].connection)
        if close:
            connections[spec.alias].close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seen[0]


def test_a_connection_closed_by_one_thread_is_taken_by_the_next_without_a_login(
        tenants: dict[str, TenantSpec]) -> None:
    spec = tenants["beta"]  # server b: behind PgBouncer
    registry.ensure_registered(spec)
    assert connections.settings[spec.alias]["SHARED_CONNECTIONS"] is True
    shared.clear()
    first = _raw_connection_after_query(spec)
    assert shared.idle_count() == 1
    second = _raw_connection_after_query(spec)
    assert second is first and not first.closed  # type: ignore[attr-defined]


def test_a_connection_left_in_a_transaction_is_closed_not_shared(tenants: dict[str, TenantSpec]) -> None:
    spec = tenants["beta"]
    registry.ensure_registered(spec)
    shared.clear()

    def run() -> None:
        with tenant_context(spec):
            wrapper = connections[spec.alias]
            wrapper.ensure_connection()
            wrapper.connection.autocommit = False
            with wrapper.connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # a transaction is open now
            wrapper.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert shared.idle_count() == 0


def test_idle_shared_connections_count_against_the_client_budget(tenants: dict[str, TenantSpec]) -> None:
    beta, alpha = tenants["beta"], tenants["alpha"]
    for spec in (alpha, beta):
        registry.ensure_registered(spec)
    for alias in registry.aliases_of(alpha):
        budget.forget(alias)  # no thread holds a slot of alpha: the next use needs a new one
    shared.clear()
    with override_settings(TENANT_CLIENT_CONNECTIONS_MAX=1):
        first = _raw_connection_after_query(beta)
        assert shared.idle_count() == 1
        # The budget (1) is taken by the idle shared connection: it is closed first to make room.
        _raw_connection_after_query(alpha, close=False)
        assert shared.idle_count() == 0
        assert first.closed  # type: ignore[attr-defined]
