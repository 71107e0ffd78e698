"""`connections.all(initialized_only=True)` answers from what the thread holds, as Django's walk would."""

from __future__ import annotations

import threading

from django.db import connections
from django.utils.connection import BaseConnectionHandler

from projects.models import Project
from routers import TenantSpec, ensure_registered, tenant_context, unregister
from routers.runtime import runtime


def django_walk() -> set[str]:
    """What Django's own `all(initialized_only=True)` returns: it asks about every registered alias."""
    return {conn.alias for conn in BaseConnectionHandler.all(connections, initialized_only=True)}


def fast_walk() -> set[str]:
    return {conn.alias for conn in connections.all(initialized_only=True)}


def test_the_walk_returns_exactly_the_connections_this_thread_holds(tenants: dict[str, TenantSpec],
                                                                    control_db: None) -> None:
    assert connections.all.__module__ == "core.db.lifecycle"  # what Django's request handlers call
    alpha, beta = tenants["alpha"], tenants["beta"]
    many = [TenantSpec(slug=f"walk-{i}", server="b", database=f"tt_walk_{i}") for i in range(300)]
    for spec in many:  # registered, never used: Django's walk pays for each of them, ours does not
        ensure_registered(spec)
    try:
        with tenant_context(alpha):
            Project.objects.count()
        with tenant_context(beta):
            Project.objects.count()
        assert fast_walk() == django_walk()
        assert {alpha.alias, beta.alias} <= fast_walk()
        assert not {spec.alias for spec in many} & fast_walk()
        held = connections[alpha.alias]
        held.copy().close()  # a wrapper built for the alias but never held by the thread
        assert [conn for conn in connections.all(initialized_only=True) if conn.alias == alpha.alias] == [held]

        seen_elsewhere: dict[str, set[str]] = {}

        def other_thread() -> None:
            with tenant_context(beta):
                Project.objects.count()
            seen_elsewhere["fast"], seen_elsewhere["django"] = fast_walk(), django_walk()
            connections.close_all()

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(60)
        assert seen_elsewhere["fast"] == seen_elsewhere["django"]
        assert alpha.alias not in seen_elsewhere["fast"] and beta.alias in seen_elsewhere["fast"]

        unregister(beta.slug)  # the registry drops the thread's wrapper: it leaves the walk too
        assert beta.alias not in fast_walk() and fast_walk() == django_walk()
    finally:
        for spec in many:
            unregister(spec.slug)
        runtime.reset()
