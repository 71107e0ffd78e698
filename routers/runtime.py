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
"""

from __future__ import annotations

from typing import Any

from routers.budget import ConnectionBudget
from routers.pool import SharedPool
from routers.probes import Probes
from routers.registry import AliasInfo, Registry
from routers.replicas import ReplicaHealth
from routers.spec import TenantSpec


class Runtime:
    """Registry, shared pool, connection budget, replica health and probes of this process."""

    def __init__(self) -> None:
        self.pool = SharedPool()
        self.budget = ConnectionBudget(self.pool, self.is_pooled, self.slug_of)
        self.registry = Registry(self._forget_alias, self.budget.in_use)
        self.health = ReplicaHealth()
        self.probes = Probes()

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
