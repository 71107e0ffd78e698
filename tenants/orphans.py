"""Drop tenant databases that no live tenant owns (orphans).

A database is an orphan when it carries the provisioning owner mark
(`tessera-tenant:<id>` in its comment), its name has the tenant prefix, and no
tenant in `provisioning`, `active` or `suspended` on that server owns it: its
tenant is `failed`, `deleting` or `deleted`, or gone. Unmarked databases are
never dropped (Tessera did not create them, or a run was killed between
`CREATE DATABASE` and marking it; the resumed run marks it).

Races are closed with row locks on the control plane, held while dropping:
the server row (`FOR UPDATE`), which a new tenant's INSERT must share-lock
through its foreign key, so no tenant can be created on that server meanwhile;
and the failed/deleting owners' rows, which `retry` must update first. The
databases are listed only after the server row is locked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg2
from django.conf import settings
from django.db import DatabaseError, transaction

from core.aliases import CONTROL_ALIAS
from core.dbservers import configured_servers
from routers import registry
from tenants import dbops
from tenants.models import DatabaseServer, Tenant, TenantStatus
from tenants.provisioning import OWNER_MARK

logger = logging.getLogger("tessera.provisioning")
DYING = (TenantStatus.FAILED, TenantStatus.DELETING)


@dataclass(frozen=True, slots=True)
class Orphan:
    server: str
    database: str
    owner: str  # slug of the tenant its mark names, or "" when that row is gone


def orphan_databases_sweep(*, dry_run: bool = False) -> list[Orphan]:
    """Drop (or with `dry_run` only list) orphan tenant databases on every configured server."""
    found: list[Orphan] = []
    for server in configured_servers():
        try:
            found += _sweep_server(server, dry_run=dry_run)
        except (DatabaseError, psycopg2.Error):  # one unreachable server must not stop the others
            logger.exception("orphan sweep of server %s failed", server)
    return found


def _sweep_server(server: str, *, dry_run: bool) -> list[Orphan]:
    with transaction.atomic(using=CONTROL_ALIAS):
        list(DatabaseServer.objects.select_for_update().filter(name=server).values_list("pk", flat=True))
        found = dbops.database_comments(server, settings.TENANT_DB_NAME_PREFIX)
        marks = {name: comment for name, comment in found.items() if comment.startswith(OWNER_MARK)}
        if not marks:
            return []
        dying = set(Tenant.objects.select_for_update()
                    .filter(server__name=server, database__in=marks, status__in=DYING)
                    .values_list("database", flat=True))
        claimed = set(Tenant.objects.filter(server__name=server, database__in=marks)
                      .exclude(status=TenantStatus.DELETED).values_list("database", flat=True))
        owners = _owner_slugs(marks.values())
        orphans = [Orphan(server, name, owners.get(marks[name], "")) for name in sorted(marks)
                   if name in dying or name not in claimed]
        if not dry_run:
            for orphan in orphans:
                _drop(orphan)
    return orphans


def _owner_slugs(marks: Iterable[str]) -> dict[str, str]:
    """Map owner marks to the slugs of the tenants they name (rows that still exist)."""
    ids = {mark: mark[len(OWNER_MARK):] for mark in marks}
    rows = Tenant.objects.filter(pk__in=[i for i in ids.values() if i.isdigit()]).values_list("pk", "slug")
    slugs = {str(pk): slug for pk, slug in rows}
    return {mark: slugs[i] for mark, i in ids.items() if i in slugs}


def _drop(orphan: Orphan) -> None:
    if orphan.owner:
        registry.unregister(orphan.owner)
    dbops.drop_database(orphan.server, orphan.database)
    logger.warning("dropped orphan database %s on %s (owner: %s)", orphan.database, orphan.server,
                   orphan.owner or "none")
