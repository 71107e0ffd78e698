"""Open tenant connections per process never exceed TENANT_CONNECTIONS_MAX."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connections
from django.test import override_settings

from core.dbservers import configured_servers
from projects.models import Project
from routers import ConnectionBudgetExhausted, TenantSpec, consistency, tenant_context
from routers.runtime import runtime
from tenants import dbops
from tests.conftest import create_tenant_database
from tests.routers.helpers import pgbouncer_clients

MANY = 12
BUDGET = 4


@pytest.fixture(scope="module")
def many_tenants(tenant_templates: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[list[TenantSpec]]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        specs = [create_tenant_database(f"budget-{i:02d}", "b") for i in range(MANY)]
        yield specs
        connections.close_all()
        for spec in specs:
            runtime.registry.unregister(spec.slug)
            dbops.drop_database(spec.server, spec.database)


def _use(spec: TenantSpec) -> None:
    with consistency.read_scope(), tenant_context(spec):
        Project.objects.create(name=spec.slug, key="BG")
        assert Project.objects.filter(name=spec.slug).count() == 1


def test_more_tenants_than_the_budget_never_open_more_connections(many_tenants: list[TenantSpec]) -> None:
    server_b = configured_servers()["b"]
    pooler = server_b.pooler.port if settings.TENANT_USE_PGBOUNCER and server_b.pooler else None
    with override_settings(TENANT_CONNECTIONS_MAX=BUDGET, TENANT_CLIENT_CONNECTIONS_MAX=BUDGET):
        evictions_before = runtime.budget.stats()["evictions"]
        for round_ in range(2):
            for spec in many_tenants:
                _use(spec) if round_ == 0 else None
                with tenant_context(spec):
                    assert Project.objects.count() == 1
                assert runtime.budget.open_connections() <= BUDGET
                if pooler:
                    # What the server side sees: PgBouncer's clients for these databases.
                    assert pgbouncer_clients(pooler, "tt_budget_") <= BUDGET
        assert runtime.budget.stats()["evictions"] - evictions_before >= 2 * MANY - BUDGET
        # Evicted connections are closed, not just forgotten.
        closed = [s for s in many_tenants if connections[s.alias].connection is None]
        assert len(closed) >= MANY - BUDGET


def test_idle_connections_of_other_threads_are_evicted(many_tenants: list[TenantSpec]) -> None:
    first, second = many_tenants[0], many_tenants[1]
    opened, release = threading.Event(), threading.Event()
    holder: dict[str, object] = {}

    def hold_idle_connection() -> None:
        with tenant_context(first):
            Project.objects.exists()
            holder["wrapper"] = connections[first.alias]
        opened.set()  # out of the context: the connection is idle but open
        release.wait(10)

    with override_settings(TENANT_CONNECTIONS_MAX=1, TENANT_CLIENT_CONNECTIONS_MAX=1):
        for spec in many_tenants:  # start from an empty budget
            runtime.registry.unregister(spec.slug)
        thread = threading.Thread(target=hold_idle_connection)
        thread.start()
        opened.wait(10)
        assert holder["wrapper"].connection is not None  # type: ignore[attr-defined]
        with tenant_context(second):
            Project.objects.exists()
        assert holder["wrapper"].connection is None  # type: ignore[attr-defined]
        assert runtime.budget.open_connections() == 1
        release.set()
        thread.join()


def test_busy_connections_are_never_closed_under_their_owner(many_tenants: list[TenantSpec]) -> None:
    first, second = many_tenants[2], many_tenants[3]
    inside, release = threading.Event(), threading.Event()
    seen: list[object] = []

    def stay_inside() -> None:
        with tenant_context(first):
            Project.objects.exists()
            seen.append(connections[first.alias].connection)
            inside.set()
            release.wait(10)
            Project.objects.exists()
            seen.append(connections[first.alias].connection)

    with override_settings(TENANT_CONNECTIONS_MAX=1, TENANT_CLIENT_CONNECTIONS_MAX=1,
                           TENANT_CONNECTION_WAIT_SECONDS=0.2):
        for spec in many_tenants:
            runtime.registry.unregister(spec.slug)
        thread = threading.Thread(target=stay_inside)
        thread.start()
        inside.wait(10)
        with tenant_context(second), pytest.raises(ConnectionBudgetExhausted):
            Project.objects.exists()
        release.set()
        thread.join()
    assert len(seen) == 2 and seen[0] is seen[1] and seen[0] is not None  # never closed under it


def test_client_connections_to_the_pooler_are_kept_up_to_their_own_budget(many_tenants: list[TenantSpec]) -> None:
    with override_settings(TENANT_CONNECTIONS_MAX=1, TENANT_CLIENT_CONNECTIONS_MAX=MANY):
        for spec in many_tenants:
            runtime.registry.unregister(spec.slug)
        evictions_before = runtime.budget.stats()["evictions"]
        for spec in many_tenants * 2:  # twice: the second round reuses every connection
            with tenant_context(spec):
                Project.objects.exists()
        assert runtime.is_pooled(many_tenants[0].alias)
        assert runtime.budget.open_connections() == MANY  # far beyond the server-connection budget of 1
        assert runtime.budget.stats()["evictions"] == evictions_before
        assert pgbouncer_clients(configured_servers()["b"].pooler.port, "tt_budget_") == MANY


def test_direct_connections_keep_the_server_connection_budget(many_tenants: list[TenantSpec]) -> None:
    """A tenant served straight by PostgreSQL (no pooler) holds server connections: TENANT_CONNECTIONS_MAX."""
    with override_settings(TENANT_CONNECTIONS_MAX=1, TENANT_CLIENT_CONNECTIONS_MAX=MANY,
                           TENANT_USE_PGBOUNCER=False):
        try:
            for spec in many_tenants[:3]:
                runtime.registry.unregister(spec.slug)
                with tenant_context(spec):
                    assert not runtime.is_pooled(spec.alias)
                    assert Project.objects.count() >= 0
            open_direct = [s for s in many_tenants[:3] if connections[s.alias].connection is not None]
            assert len(open_direct) == 1 and runtime.budget.stats()["open_direct"] == 1
        finally:
            for spec in many_tenants[:3]:
                runtime.registry.unregister(spec.slug)  # registered again, pooled, by the next test
