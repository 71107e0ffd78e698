"""`connections.all(initialized_only=True)` answers from what the thread holds, as Django's walk would."""

from __future__ import annotations

import threading

from django.core.handlers.base import BaseHandler
from django.db import connections, transaction
from django.utils.connection import BaseConnectionHandler

from core.db import lifecycle
from projects.models import Project
from routers import TenantSpec, ensure_registered, tenant_context, unregister
from routers.runtime import runtime


def django_walk() -> set[str]:
    """What Django's own `all(initialized_only=True)` returns, less the tenant wrappers with nothing to
    upkeep (no connection, no query log, no transaction): it asks about every registered alias."""
    return {conn.alias for conn in BaseConnectionHandler.all(connections, initialized_only=True)
            if conn.alias in lifecycle.configured_aliases() or conn.connection is not None
            or conn.queries_log or conn.in_atomic_block}


def fast_walk() -> set[str]:
    return {conn.alias for conn in connections.all(initialized_only=True)}


def touch(spec: TenantSpec) -> None:
    """Open the tenant's primary connection in this thread, as its first query would."""
    with tenant_context(spec):
        assert Project.objects.using(spec.alias).exists() in (True, False)


def test_the_walk_returns_exactly_the_connections_this_thread_holds(tenants: dict[str, TenantSpec],
                                                                    control_db: None) -> None:
    assert connections.all.__module__ == "core.db.lifecycle"  # what Django's request handlers call
    alpha, beta = tenants["alpha"], tenants["beta"]
    many = [TenantSpec(slug=f"walk-{i}", server="b", database=f"tt_walk_{i}") for i in range(300)]
    for spec in many:  # registered, never used: Django's walk pays for each of them, ours does not
        ensure_registered(spec)
    try:
        touch(alpha)
        touch(beta)
        assert fast_walk() == django_walk()
        assert {alpha.alias, beta.alias} <= fast_walk()
        assert not {spec.alias for spec in many} & fast_walk()
        held = connections[alpha.alias]
        held.copy().close()  # a wrapper built for the alias but never held by the thread
        assert [conn for conn in connections.all(initialized_only=True) if conn.alias == alpha.alias] == [held]

        seen_elsewhere: dict[str, set[str]] = {}

        def other_thread() -> None:
            touch(beta)
            seen_elsewhere["fast"], seen_elsewhere["django"] = fast_walk(), django_walk()
            connections.close_all()

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(60)
        assert seen_elsewhere["fast"] == seen_elsewhere["django"]
        assert alpha.alias not in seen_elsewhere["fast"] and beta.alias in seen_elsewhere["fast"]

        connections[alpha.alias].close()  # closed: nothing to upkeep, it leaves the walk ...
        assert alpha.alias not in fast_walk() and fast_walk() == django_walk()
        touch(alpha)
        assert alpha.alias in fast_walk()  # ... and is back once it connects again

        unregister(beta.slug)  # the registry drops the thread's wrapper: it leaves the walk too
        assert beta.alias not in fast_walk() and fast_walk() == django_walk()
    finally:
        for spec in many:
            unregister(spec.slug)
        runtime.reset()


def test_views_are_made_atomic_for_the_settings_files_aliases_only(control_db: None) -> None:
    assert BaseHandler.make_view_atomic is lifecycle.make_view_atomic
    many = [TenantSpec(slug=f"atomic-{i}", server="b", database=f"tt_atomic_{i}") for i in range(20)]
    for spec in many:
        ensure_registered(spec)
    entry = connections.settings["default"]
    try:
        # Registered tenant aliases never ask for it: only the settings file's aliases need a look.
        assert not any(connections.settings[spec.alias]["ATOMIC_REQUESTS"] for spec in many)

        def view(request: object) -> None:
            return None

        assert BaseHandler().make_view_atomic(view) is view
        entry["ATOMIC_REQUESTS"] = True
        assert BaseHandler().make_view_atomic(view) is not view  # wrapped in transaction.atomic("default")
        opted_out = transaction.non_atomic_requests(using="default")(view)
        assert BaseHandler().make_view_atomic(opted_out) is opted_out
    finally:
        entry["ATOMIC_REQUESTS"] = False
        for spec in many:
            unregister(spec.slug)
