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

from core.dbservers import configured_servers
from routers import budget, consistency, replicas
from routers.context import current_tenant_or_none
from routers.exceptions import CrossTenantObject, TenantContextMissing
from routers.planes import Plane, plane_of, primary_read_apps
from routers.spec import TenantSpec, is_tenant_alias, slug_of

CONTROL_PRIMARY = "default"
CONTROL_REPLICA = "default_replica"
CONTROL_SERVER = "control"


class TenantRouter:
    """Route every query to the right plane, tenant and server role."""

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str:
        spec = self._tenant_for(model, hints)
        primary_only = model._meta.app_label in primary_read_apps()
        if spec is None:
            return CONTROL_PRIMARY if primary_only else control_read_alias()
        if primary_only:
            budget.touch(spec.alias)
            return spec.alias
        return tenant_read_alias(spec)

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str:
        spec = self._tenant_for(model, hints)
        alias = spec.alias if spec else CONTROL_PRIMARY
        if spec:
            budget.touch(alias)
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
        if is_schema_alias(db):
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
    if db and is_tenant_alias(db) and slug_of(db) != spec.slug:
        raise CrossTenantObject(model=type(instance).__name__, owner=slug_of(db), current=spec.slug)


def control_read_alias() -> str:
    return replicas.read_alias(CONTROL_PRIMARY, [CONTROL_REPLICA], CONTROL_SERVER)


def tenant_read_alias(spec: TenantSpec) -> str:
    alias = replicas.read_alias(spec.alias, _replica_names(spec), spec.server)
    budget.touch(alias)
    return alias


@functools.lru_cache(maxsize=4096)  # bounded: a process may serve any number of tenants
def _replica_names(spec: TenantSpec) -> list[str]:
    server = configured_servers()[spec.server]
    return [spec.replica_alias(i) for i in range(len(server.replicas))]


def database_family(alias: str) -> str:
    """Return one name for all aliases of a database (primary, replicas, direct)."""
    if alias in (CONTROL_PRIMARY, CONTROL_REPLICA):
        return CONTROL_PRIMARY
    if is_tenant_alias(alias):
        return slug_of(alias)
    return alias


def is_schema_alias(alias: str) -> bool:
    """Return True for aliases whose database carries the tenant schema (not replicas)."""
    if alias.startswith("template:"):
        return True
    if not is_tenant_alias(alias):
        return False
    role = alias.split(":")[2:]
    return not role or role == ["direct"]
