"""The database router: planes, tenants, primaries and replicas.

* tenant-plane models go to the current tenant's database and raise
  `TenantContextMissing` when there is none (never a fall back to `default`);
* both-plane models (auth, ...) go to the current tenant's database inside a
  tenant context and to the control plane outside one;
* control-plane models go to the control plane;
* writes go to a primary, reads to a replica chosen by `routers.replicas`.
"""

from __future__ import annotations

import functools
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from core import metrics
from core.dbservers import configured_servers
from routers import consistency, registry
from routers.context import current_tenant_or_none
from routers.exceptions import CrossTenantObject, TenantContextMissing
from routers.planes import Plane, plane_of, primary_read_apps
from routers.runtime import runtime
from routers.spec import AliasKind, TenantSpec, kind_of, slug_of

CONTROL_PRIMARY = "default"
CONTROL_REPLICA = "default_replica"
CONTROL_SERVER = "control"
TENANT_KINDS = frozenset({AliasKind.TENANT, AliasKind.REPLICA, AliasKind.DIRECT})


class TenantRouter:
    """Route every query to the right plane, tenant and server role."""

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str:
        alias = self._read_alias(model, hints)
        metrics.record(lambda: metrics.child(metrics.ROUTING, *read_decision(alias)).inc())
        return alias

    def _read_alias(self, model: type[models.Model], hints: dict[str, Any]) -> str:
        spec = self._tenant_for(model, hints)
        primary_only = model._meta.app_label in primary_read_apps()
        if spec is None:
            return CONTROL_PRIMARY if primary_only else control_read_alias()
        if primary_only:
            return registry.fresh(spec.alias)
        return registry.fresh(tenant_read_alias(spec))

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str:
        spec = self._tenant_for(model, hints)
        alias = registry.fresh(spec.alias) if spec else CONTROL_PRIMARY
        consistency.note_write(alias)
        return alias

    def allow_relation(self, obj1: models.Model, obj2: models.Model, **hints: Any) -> bool | None:
        db1, db2 = obj1._state.db, obj2._state.db
        if db1 is None or db2 is None:
            return None
        return database_family(db1) == database_family(db2)

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None,
                      **hints: Any) -> bool:
        plane = plane_of(app_label)
        if plane is None:
            return False  # unlabelled apps get no tables anywhere (architecture test)
        if db == CONTROL_PRIMARY:
            return plane in (Plane.CONTROL, Plane.BOTH)
        kind = kind_of(db)
        if kind is not None and kind.has_schema:
            return plane in (Plane.TENANT, Plane.BOTH)
        return False  # replicas and anything unknown

    @staticmethod
    def _tenant_for(model: type[models.Model], hints: dict[str, Any]) -> TenantSpec | None:
        plane = plane_of(model._meta.app_label)
        if plane is None:  # an unlabelled app has no safe default database
            raise ImproperlyConfigured(
                f"{model._meta.label}: app {model._meta.app_label!r} is not in DATABASE_PLANES"
            )
        spec = current_tenant_or_none()
        if plane is Plane.TENANT and spec is None:
            raise TenantContextMissing(model._meta.label)
        if plane is Plane.CONTROL:
            return None
        if spec is not None:
            _refuse_foreign_instance(spec, hints.get("instance"))
        return spec


def _refuse_foreign_instance(spec: TenantSpec, instance: models.Model | None) -> None:
    """Fail closed when an object loaded from another tenant is used in this one."""
    db = getattr(getattr(instance, "_state", None), "db", None)
    if db and kind_of(db) in TENANT_KINDS and slug_of(db) != spec.slug:
        raise CrossTenantObject(model=type(instance).__name__, owner=slug_of(db), current=spec.slug)


def read_decision(alias: str) -> tuple[str, str]:
    """Return (plane, decision) of a read sent to `alias`: "replica", "primary" or "pinned".

    "pinned": a primary serves the read while read-your-writes holds this unit of
    work to it (it wrote, may write, or its client's read-after position applies).
    """
    if alias == CONTROL_REPLICA:
        return "control", "replica"
    info = runtime.alias_info(alias)
    if info is not None and info.replica_index is not None:
        return "tenant", "replica"
    plane, server = ("tenant", info.server) if info is not None else ("control", CONTROL_SERVER)
    pinned = consistency.wrote(alias) or consistency.required_lsn(server) > 0
    return plane, "pinned" if pinned else "primary"


def control_read_alias() -> str:
    return route_read(CONTROL_PRIMARY, [CONTROL_REPLICA], CONTROL_SERVER)


def tenant_read_alias(spec: TenantSpec) -> str:
    return route_read(spec.alias, _replica_names(spec), spec.server)


def route_read(primary: str, replicas: list[str], server: str) -> str:
    """Return where a read of `primary`'s database goes: the one place a read is decided.

    `runtime.health.choose` returns the alias and the `ReadDecision`
    (primary, replica, pinned); a hook counting decisions belongs here.
    """
    alias, _decision = runtime.health.choose(primary, replicas, server)
    return alias


@functools.lru_cache(maxsize=4096)  # bounded: a process may serve any number of tenants
def _replica_names(spec: TenantSpec) -> list[str]:
    server = configured_servers()[spec.server]
    return [spec.replica_alias(i) for i in range(len(server.replicas))]


def database_family(alias: str) -> str:
    """Return one name for all aliases of a database (primary, replicas, direct)."""
    kind = kind_of(alias)
    if kind in (AliasKind.CONTROL, AliasKind.CONTROL_REPLICA):
        return CONTROL_PRIMARY
    if kind in TENANT_KINDS:
        return slug_of(alias)
    return alias
