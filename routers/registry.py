"""Register tenant database aliases at runtime, from validated descriptions.

Django fills the default keys of `DATABASES` entries only once, at start-up, so
a bare dict added later breaks in odd places. Every alias registered here is a
complete entry: the normalized `default` entry's keys, then the server's
endpoint and credentials, then the pooling policy of its alias class.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections

from core.dbservers import Endpoint, ServerConfig, configured_servers
from routers.exceptions import InvalidTenantSpec
from routers.policy import AliasClass, policy_for
from routers.spec import TenantSpec

_lock = threading.RLock()
# slug -> spec, least recently used first: bounded by TENANT_REGISTRY_MAX so a
# long-lived process serving many tenants keeps a bounded settings table.
_registered: OrderedDict[str, TenantSpec] = OrderedDict()
# alias -> (server name, replica index or None, pooled): lets replica health be
# shared by every tenant on the same server, and the budget tell kinds apart.
_alias_meta: dict[str, tuple[str, int | None, bool]] = {}


@dataclass(frozen=True, slots=True)
class AliasInfo:
    """What the router needs to know about a registered alias."""

    server: str
    replica_index: int | None
    pooled: bool = False  # connects to a PgBouncer: a client connection, not a server one


def ensure_registered(spec: TenantSpec) -> None:
    """Register `spec`'s aliases unless the same description is registered already."""
    if _registered.get(spec.slug) == spec:
        with contextlib.suppress(KeyError):  # unregistered meanwhile: nothing to mark
            _registered.move_to_end(spec.slug)
        return
    with _lock:
        if _registered.get(spec.slug) == spec:
            return
        if spec.slug in _registered:
            _unregister_locked(spec.slug)  # moved to another server or database
        _register_locked(spec)
        _evict_beyond_limit_locked()


def _evict_beyond_limit_locked() -> None:
    """Forget the least recently used tenants no thread is serving, beyond TENANT_REGISTRY_MAX."""
    from routers import budget

    excess = len(_registered) - int(settings.TENANT_REGISTRY_MAX)
    for slug in list(_registered)[:-1]:  # never the tenant just registered
        if excess <= 0:
            return
        if not budget.in_use(slug):
            _unregister_locked(slug)
            excess -= 1


def _register_locked(spec: TenantSpec) -> None:
    server = server_for(spec)
    pooled = settings.TENANT_USE_PGBOUNCER and server.pooler is not None
    primary = server.pooler if pooled and server.pooler else server.primary
    entries = {
        spec.alias: (_entry(spec.database, server, primary, AliasClass.TENANT, pooled=pooled), pooled),
        spec.direct_alias: (_entry(spec.database, server, server.primary, AliasClass.MIGRATIONS,
                                   mirror=spec.alias), False),
    }
    for index, replica in enumerate(server.replicas):
        replica_pooled = settings.TENANT_USE_PGBOUNCER and len(server.replica_poolers) > index
        endpoint = server.replica_poolers[index] if replica_pooled else replica
        entries[spec.replica_alias(index)] = (_entry(
            spec.database, server, endpoint, AliasClass.TENANT_REPLICA, pooled=replica_pooled,
            replica_index=index, mirror=spec.alias,
        ), replica_pooled)
    for alias, (entry, entry_pooled) in entries.items():
        connections.settings[alias] = entry
        _alias_meta[alias] = (server.name, entry["TEST"]["TESSERA_REPLICA_INDEX"], entry_pooled)
    _registered[spec.slug] = spec


def register_database(alias: str, server_name: str, database: str) -> str:
    """Register a direct, unpooled alias to any database on a server (templates)."""
    server = configured_servers()[server_name]
    with _lock:
        connections.settings[alias] = _entry(database, server, server.primary, AliasClass.MIGRATIONS)
        _alias_meta[alias] = (server.name, None, False)
    return alias


def drop_alias(alias: str) -> None:
    """Close this thread's connection of a non-tenant alias and forget it."""
    with _lock:
        if alias in connections.settings:
            connections[alias].close()
            del connections[alias]
            del connections.settings[alias]
        _alias_meta.pop(alias, None)


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
    policy = policy_for(alias_class, pooled=pooled)
    entry.update(policy.connection_settings(f"tessera-{alias_class.value}"))
    entry["OPTIONS"].update(dict(server.options))
    # Replicas and direct aliases mirror the primary for Django's test machinery.
    entry["TEST"] = {**entry["TEST"], "NAME": database, "MIRROR": mirror,
                     "TESSERA_REPLICA_INDEX": replica_index}
    return entry


def unregister(slug: str) -> None:
    """Close this thread's connections of `slug` and forget its aliases."""
    with _lock:
        _unregister_locked(slug)


def _unregister_locked(slug: str) -> None:
    from routers import budget

    spec = _registered.pop(slug, None)
    if spec is None:
        return
    mine = {wrapper.alias: wrapper for wrapper in connections.all(initialized_only=True)}
    for alias in aliases_of(spec):
        budget.forget(alias)  # other threads' idle connections
        if alias in mine:  # this thread's: close it and drop the cached wrapper
            with contextlib.suppress(DatabaseError):
                mine[alias].close()
            del connections[alias]
        if alias in connections.settings:
            del connections.settings[alias]
        _alias_meta.pop(alias, None)


def aliases_of(spec: TenantSpec) -> list[str]:
    """Return every alias registered for `spec` (primary, direct, replicas)."""
    server = configured_servers().get(spec.server)
    replicas = len(server.replicas) if server else 0
    return [spec.alias, spec.direct_alias, *(spec.replica_alias(i) for i in range(replicas))]


def alias_info(alias: str) -> AliasInfo | None:
    meta = _alias_meta.get(alias)
    return AliasInfo(*meta) if meta else None


def registered_spec(slug: str) -> TenantSpec | None:
    return _registered.get(slug)


def registered_count() -> int:
    return len(_registered)


def register_control_aliases() -> None:
    """Describe the control plane aliases like tenant ones (server `control`)."""
    _alias_meta["default"] = ("control", None, False)
    if "default_replica" in connections.settings:
        _alias_meta["default_replica"] = ("control", 0, False)
