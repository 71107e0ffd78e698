"""The alias registry stays bounded and never serves a tenant from an outdated registration."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connections
from django.test import override_settings

from projects.models import Project
from routers import TenantSpec, consistency, current_alias, tenant_context
from routers.runtime import runtime
from tenants import dbops
from tests.conftest import create_tenant_database


def _spec(i: int) -> TenantSpec:
    return TenantSpec(f"reg-{i:03d}", "b", f"tt_reg_{i:03d}")


def test_the_registry_keeps_at_most_its_limit_of_tenants() -> None:
    with override_settings(TENANT_REGISTRY_MAX=5):
        for i in range(30):
            runtime.registry.ensure(_spec(i))
            assert runtime.registry.count() <= 5
        kept = [i for i in range(30) if runtime.registry.spec(_spec(i).slug)]
        assert kept[-1] == 29 and len(kept) <= 5  # the most recent survive
        assert _spec(0).alias not in connections.settings  # evicted aliases are gone from Django too
    for i in kept:
        runtime.registry.unregister(_spec(i).slug)


def test_a_tenant_being_served_is_never_evicted() -> None:
    held, release = threading.Event(), threading.Event()

    def serve() -> None:
        with tenant_context(_spec(100)):
            held.set()
            release.wait(10)

    worker = threading.Thread(target=serve)
    worker.start()
    try:
        held.wait(10)
        with override_settings(TENANT_REGISTRY_MAX=2):
            for i in range(101, 110):
                runtime.registry.ensure(_spec(i))
            assert runtime.registry.spec(_spec(100).slug) == _spec(100)
    finally:
        release.set()
        worker.join()
        for i in range(100, 110):
            runtime.registry.unregister(_spec(i).slug)


@pytest.fixture
def moving_tenant(tenant_templates: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[TenantSpec]:
    """The same tenant database on servers a and b, each holding a different project."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        specs = [create_tenant_database("mover", server) for server in ("a", "b")]
        for spec in specs:
            with consistency.read_scope(), tenant_context(spec):
                Project.objects.create(name=spec.server, key=spec.server.upper())
            runtime.registry.unregister(spec.slug)
        yield specs[0]
        runtime.registry.unregister("mover")
        connections.close_all()
        for spec in specs:
            dbops.drop_database(spec.server, spec.database)


def test_a_thread_follows_a_tenant_moved_to_another_server(moving_tenant: TenantSpec) -> None:
    on_a = moving_tenant
    on_b = TenantSpec(on_a.slug, "b", on_a.database)
    seen: list[str] = []
    ready, moved, done = threading.Event(), threading.Event(), threading.Event()

    def reader() -> None:
        for spec, gate in ((on_a, None), (on_b, moved)):
            if gate:
                gate.wait(10)
            with consistency.read_scope(), tenant_context(spec):
                seen.append(Project.objects.using(current_alias()).get().key)  # the primary, not a replica
            ready.set()
        done.set()

    worker = threading.Thread(target=reader)
    worker.start()
    ready.wait(10)
    runtime.registry.ensure(on_b)  # the control plane says: it lives on b now
    moved.set()
    done.wait(10)
    worker.join()
    assert seen == ["A", "B"]  # the thread's cached connection to a was not reused
