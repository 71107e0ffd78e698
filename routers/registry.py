"""Register tenant database aliases at runtime, from validated descriptions.

Django fills the default keys of `DATABASES` entries only once, at start-up, so
a bare dict added later breaks in odd places. Every alias registered here is a
complete entry: the normalized `default` entry's keys, then the server's
endpoint and credentials, then the pooling policy of its alias kind. Each
alias is described once, at registration, by an `AliasInfo` (its kind,
tenant, server, replica index, whether it goes through a pooler): the rest of
`routers` reads that instead of parsing alias strings.

The state lives in `Registry`, owned by `routers.runtime.runtime` (which also
holds the module functions the rest of the code base calls); the functions
here read only Django's settings and the configured servers.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections

from core.dbservers import Endpoint, ServerConfig, configured_servers
from routers.exceptions import InvalidTenantSpec
from routers.policy import AliasClass, policy_for
from routers.spec import AliasKind, TenantSpec

TENANT_ENGINE = "routers.backend"  # budgeted, shared connections (routers/backend/base.py)


@dataclass(frozen=True, slots=True)
class AliasInfo:
    """What the router needs to know about a registered alias."""

    server: str
    replica_index: int | None
    pooled: bool = False  # connects to a PgBouncer: a client connection, not a server one
    kind: AliasKind = AliasKind.DIRECT
    slug: str | None = None  # the tenant, for tenant kinds


class Registry:
    """The tenants and aliases this process knows, least recently used first."""

    def __init__(self, on_forget: Callable[[str], None], in_use: Callable[[str], bool]) -> None:
        self._lock = threading.RLock()
        # slug -> spec: bounded by TENANT_REGISTRY_MAX so a long-lived process keeps a bounded settings table.
        self._registered: OrderedDict[str, TenantSpec] = OrderedDict()
        self._info: dict[str, AliasInfo] = {}
        self._on_forget, self._in_use = on_forget, in_use

    def ensure(self, spec: TenantSpec) -> None:
        """Register `spec`'s aliases unless the same description is registered already."""
        if self._registered.get(spec.slug) == spec:
            with contextlib.suppress(KeyError):  # unregistered meanwhile: nothing to mark
                self._registered.move_to_end(spec.slug)
            return
        with self._lock:
            if self._registered.get(spec.slug) == spec:
                return
            if spec.slug in self._registered:
                self._unregister_locked(spec.slug)  # moved to another server or database
            self._register_locked(spec)
            self._evict_beyond_limit_locked()

    def _evict_beyond_limit_locked(self) -> None:
        """Forget the least recently used tenants no thread is serving, beyond TENANT_REGISTRY_MAX."""
        excess = len(self._registered) - int(settings.TENANT_REGISTRY_MAX)
        for slug in list(self._registered)[:-1]:  # never the tenant just registered
            if excess <= 0:
                return
            if not self._in_use(slug):
                self._unregister_locked(slug)
                excess -= 1

    def _register_locked(self, spec: TenantSpec) -> None:
        with _published() as entries:
            self._add_tenant_locked(spec, entries)

    def _add_tenant_locked(self, spec: TenantSpec, entries: dict[str, dict[str, Any]]) -> None:
        server = server_for(spec)
        pooled = settings.TENANT_USE_PGBOUNCER and server.pooler is not None
        primary = server.pooler if pooled and server.pooler else server.primary
        self._add(entries, spec.alias, _entry(spec.database, server, primary, AliasClass.TENANT, pooled=pooled),
                  AliasInfo(server.name, None, pooled, AliasKind.TENANT, spec.slug))
        self._add(entries, spec.direct_alias, _entry(spec.database, server, server.primary, AliasClass.MIGRATIONS,
                                            mirror=spec.alias),
                  AliasInfo(server.name, None, False, AliasKind.DIRECT, spec.slug))
        for index, replica in enumerate(server.replicas):
            replica_pooled = settings.TENANT_USE_PGBOUNCER and len(server.replica_poolers) > index
            endpoint = server.replica_poolers[index] if replica_pooled else replica
            self._add(entries, spec.replica_alias(index), _entry(
                spec.database, server, endpoint, AliasClass.TENANT_REPLICA, pooled=replica_pooled,
                replica_index=index, mirror=spec.alias,
            ), AliasInfo(server.name, index, replica_pooled, AliasKind.REPLICA, spec.slug))
        self._registered[spec.slug] = spec

    def _add(self, entries: dict[str, dict[str, Any]], alias: str, entry: dict[str, Any],
             info: AliasInfo) -> None:
        entries[alias] = entry
        self._info[alias] = info

    def register_database(self, alias: str, server_name: str, database: str) -> str:
        """Register a direct, unpooled alias to any database on a server (templates)."""
        server = configured_servers()[server_name]
        with self._lock, _published() as entries:
            self._add(entries, alias, _entry(database, server, server.primary, AliasClass.MIGRATIONS),
                      AliasInfo(server.name, None, False, AliasKind.TEMPLATE))
        return alias

    def register_control(self) -> None:
        """Describe the control plane aliases like tenant ones (server `control`)."""
        self._info["default"] = AliasInfo("control", None, False, AliasKind.CONTROL)
        if "default_replica" in connections.settings:
            self._info["default_replica"] = AliasInfo("control", 0, False, AliasKind.CONTROL_REPLICA)

    def drop_alias(self, alias: str) -> None:
        """Close this thread's connection of a non-tenant alias and forget it."""
        with self._lock:
            if alias in connections.settings:
                connections[alias].close()
                del connections[alias]
                with _published() as entries:
                    del entries[alias]
            self._info.pop(alias, None)

    def unregister(self, slug: str) -> None:
        """Close this process's idle connections of `slug` (and this thread's) and forget its aliases."""
        with self._lock:
            self._unregister_locked(slug)

    def _unregister_locked(self, slug: str) -> None:
        spec = self._registered.pop(slug, None)
        if spec is None:
            return
        aliases = aliases_of(spec)
        for alias in aliases:
            self._on_forget(alias)  # the shared pool's and other threads' idle connections
            # This thread's wrapper, if it built one; a lookup, not `connections.all()`, which
            # would walk every registered alias.
            wrapper = getattr(connections._connections, alias, None)  # type: ignore[attr-defined]
            if wrapper is not None:  # close it and drop the cached wrapper
                with contextlib.suppress(DatabaseError):
                    wrapper.close()
                del connections[alias]
            self._info.pop(alias, None)
        with _published() as entries:
            for alias in aliases:
                entries.pop(alias, None)

    def reset(self) -> None:
        """Unregister every tenant (tests: `runtime.reset()`)."""
        with self._lock:
            for slug in list(self._registered):
                self._unregister_locked(slug)

    def info(self, alias: str) -> AliasInfo | None:
        return self._info.get(alias)

    def spec(self, slug: str) -> TenantSpec | None:
        return self._registered.get(slug)

    def count(self) -> int:
        return len(self._registered)


@contextlib.contextmanager
def _published() -> Iterator[dict[str, dict[str, Any]]]:
    """Change the table of database entries copy-on-write, under the registry's lock.

    Django iterates `connections.settings` in every request (`reset_queries`,
    `close_old_connections`, `make_view_atomic`), in other threads, unlocked:
    a dict changed in place under them raises "dictionary changed size during
    iteration" (a 500). So a change builds a new dict and replaces the table
    in one assignment (Django's own test signals replace `caches.settings`
    the same way); readers keep iterating the one they started with.
    """
    entries = dict(connections.settings)
    yield entries
    connections.settings = entries  # one assignment: readers see the old table or the new one, whole


def server_for(spec: TenantSpec) -> ServerConfig:
    try:
        return configured_servers()[spec.server]
    except KeyError:
        raise InvalidTenantSpec(
            f"tenant {spec.slug!r} is on server {spec.server!r}, which TENANT_DB_SERVERS does not list"
        ) from None


def _entry(database: str, server: ServerConfig, endpoint: Endpoint, alias_class: AliasClass, *,
           pooled: bool = False, replica_index: int | None = None, mirror: str | None = None,
           ) -> dict[str, Any]:
    entry = copy.deepcopy(connections.settings["default"])
    entry.update(
        NAME=database, USER=server.user, PASSWORD=server.password,
        HOST=endpoint.host, PORT=str(endpoint.port), ATOMIC_REQUESTS=False, AUTOCOMMIT=True,
    )
    if alias_class in (AliasClass.TENANT, AliasClass.TENANT_REPLICA):
        entry["ENGINE"] = TENANT_ENGINE
    policy = policy_for(alias_class, pooled=pooled)
    entry.update(policy.connection_settings(f"tessera-{alias_class.value}"))
    entry["OPTIONS"].update(dict(server.options))
    # Replicas and direct aliases mirror the primary for Django's test machinery.
    entry["TEST"] = {**entry["TEST"], "NAME": database, "MIRROR": mirror,
                     "TESSERA_REPLICA_INDEX": replica_index}
    return entry


def aliases_of(spec: TenantSpec) -> list[str]:
    """Return every alias registered for `spec` (primary, direct, replicas)."""
    server = configured_servers().get(spec.server)
    replicas = len(server.replicas) if server else 0
    return [spec.alias, spec.direct_alias, *(spec.replica_alias(i) for i in range(replicas))]


def fresh(alias: str) -> str:
    """Return `alias`, first dropping this thread's connection of it if an older registration built it.

    Each thread caches its own wrapper, holding the settings dict it was built
    from. After a tenant is registered again (moved to another server or
    database, restored in place, or evicted and back), a thread's cached wrapper
    would still reach the old database: close it so Django builds a new one from
    the current description. The registry replaces the table copy-on-write but
    keeps each unchanged entry, so the identity check costs nothing otherwise.
    """
    current = connections.settings.get(alias)
    wrapper = getattr(connections._connections, alias, None)  # type: ignore[attr-defined]  # this thread's
    if current is not None and wrapper is not None and wrapper.settings_dict is not current:
        with contextlib.suppress(DatabaseError):
            wrapper.close()
        del connections[alias]
    return alias
