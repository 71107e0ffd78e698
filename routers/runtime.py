"""The one owner of the routing layer's runtime state (shaped like Django's `ConnectionHandler`).

`runtime` holds, per process:

* `registry`: the tenants and aliases this process knows (`routers.registry`);
* `pool`: idle client connections shared by threads (`routers.pool`);
* `budget`: the bound on open tenant connections, enforced by the tenant
  backend where connections open (`routers.budget`, `routers.backend`);
* `health`: replica status and the read decision (`routers.replicas`);
* `probes`: the probe connections to replicas (`routers.probes`).

`reset()` puts all of it back to a fresh process's state (tests call it
between tests that drop databases); `stats()` is a read-only view for
metrics. Nothing else in `routers` keeps mutable module-level state except
caches of settings and the context variables of `context`/`consistency`.

The parts never import this module: `Runtime` builds them and hands each the
collaborators it needs (the budget gets the pool and alias lookups, the
registry a forget callback, the replica health the probes). So the imports
point one way, from here down, and the module functions at the end (the
stable API `routers/__init__.py` re-exports) are the only code that reaches
the one `runtime`.
"""

from __future__ import annotations

from typing import Any

from routers.budget import ConnectionBudget
from routers.pool import SharedPool
from routers.probes import Probes
from routers.registry import AliasInfo, Registry
from routers.replicas import ReplicaHealth, ReplicaStatus
from routers.spec import TenantSpec


class Runtime:
    """Registry, shared pool, connection budget, replica health and probes of this process."""

    def __init__(self) -> None:
        self.pool = SharedPool()
        self.budget = ConnectionBudget(self.pool, self.is_pooled, self.slug_of)
        self.registry = Registry(self._forget_alias, self.budget.in_use)
        self.probes = Probes()
        self.health = ReplicaHealth(self.probes)

    def alias_info(self, alias: str) -> AliasInfo | None:
        """Return what the registry knows about `alias` (None: not registered)."""
        return self.registry.info(alias)

    def is_pooled(self, alias: str) -> bool:
        """Return True when `alias` connects to a PgBouncer (a client connection)."""
        info = self.registry.info(alias)
        return info is not None and info.pooled

    def slug_of(self, alias: str) -> str | None:
        info = self.registry.info(alias)
        return info.slug if info else None

    def server_of(self, alias: str) -> str | None:
        """Return the name of the server `alias` is on (None: not registered)."""
        info = self.registry.info(alias)
        return info.server if info else None

    def enter(self, spec: TenantSpec) -> None:
        """Register `spec` if needed and mark this thread busy with it (`tenant_context` entry)."""
        self.registry.ensure(spec)
        self.budget.enter(spec.slug)

    def leave(self, spec: TenantSpec) -> None:
        self.budget.leave(spec.slug)

    def _forget_alias(self, alias: str) -> None:
        self.pool.discard(alias)
        self.budget.forget(alias)

    def reset(self) -> None:
        """Return to a fresh process's state: no tenant, no idle connection, no replica status."""
        self.registry.reset()
        self.pool.clear()
        self.budget.clear()
        self.health.reset()
        self.probes.close_all()

    def stats(self) -> dict[str, Any]:
        """Return a read-only snapshot of the budget, the shared pool and the registry (metrics)."""
        return {**self.budget.stats(), "registered_tenants": self.registry.count(),
                "shared_hits": self.pool.hits, "shared_misses": self.pool.misses,
                "replicas": self.health.snapshot()}


runtime = Runtime()


# The stable API of the routing state (re-exported by routers/__init__.py); code
# inside `routers` and the tests may also call `runtime`'s parts directly.


def ensure_registered(spec: TenantSpec) -> None:
    """Register `spec`'s aliases unless the same description is registered already."""
    runtime.registry.ensure(spec)


def register_database(alias: str, server_name: str, database: str) -> str:
    """Register a direct, unpooled alias to any database on a server (templates)."""
    return runtime.registry.register_database(alias, server_name, database)


def drop_alias(alias: str) -> None:
    """Close this thread's connection of a non-tenant alias and forget it."""
    runtime.registry.drop_alias(alias)


def unregister(slug: str) -> None:
    """Close the process's idle connections of `slug` and forget its aliases (deleted, moved, dropped)."""
    runtime.registry.unregister(slug)


def alias_info(alias: str) -> AliasInfo | None:
    """Return what the registry knows about `alias` (None: not registered)."""
    return runtime.registry.info(alias)


def open_connection_aliases() -> list[str]:
    """Return the alias of every tenant connection of this process open right now (read-only)."""
    return runtime.budget.open_aliases()


def replica_probe(server: str, index: int) -> ReplicaStatus | None:
    """Refresh and return replica `index` of `server`'s status (None: being probed, or failed)."""
    return runtime.health.refresh(server, index)


def replica_snapshot() -> dict[str, dict[str, float]]:
    """Return the last known status of every replica (read-only)."""
    return runtime.health.snapshot()
