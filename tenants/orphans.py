"""Drop tenant databases that no live tenant owns (orphans).

A database is an orphan when it carries the provisioning owner mark
(`tessera-tenant:<id>` in its comment), its name has the tenant prefix, the
tenant its mark names is not alive (`failed`, `deleting`, `deleted`, or gone)
and no live tenant (`provisioning`, `active`, `suspended`) on that server
claims its name. Unmarked databases are never dropped (Tessera did not create
them, or a run was killed between `CREATE DATABASE` and marking it; the
resumed run marks it). The drop proves the mark again on the connection that
drops, so a database re-marked since it was listed is left alone.

Races are closed with row locks on the control plane, held while dropping:
the server row (`FOR UPDATE`), which a new tenant's INSERT must share-lock
through its foreign key, so no tenant can be created on that server meanwhile;
and the failed/deleting owners' rows, which `retry` must update first. The
databases are listed only after the server row is locked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg2
from django.conf import settings
from django.db import DatabaseError, transaction

from core.aliases import CONTROL_ALIAS
from core.dbservers import configured_servers
from routers import unregister
from tenants import dbops
from tenants.models import DatabaseServer, Tenant
from tenants.provisioning import LIVE, marked_tenant_id

logger = logging.getLogger("tessera.provisioning")


@dataclass(frozen=True, slots=True)
class Orphan:
    server: str
    database: str
    owner: str  # slug of the tenant its mark names, or "" when that row is gone
    mark: str  # the owner mark it was judged by; the drop proves it again


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
        owners = {name: owner for name, comment in found.items() if (owner := marked_tenant_id(comment)) is not None}
        marks = {name: found[name] for name in owners}
        if not marks:
            return []
        # The dying owners' rows are locked: a `retry` (failed -> provisioning) waits for the sweep.
        dead = dict(Tenant.objects.select_for_update().filter(pk__in=owners.values())
                    .exclude(status__in=LIVE).values_list("pk", "slug"))
        live_ids = set(Tenant.objects.filter(pk__in=owners.values(), status__in=LIVE).values_list("pk", flat=True))
        claimed = set(Tenant.objects.filter(server__name=server, database__in=marks, status__in=LIVE)
                      .values_list("database", flat=True))
        orphans = [Orphan(server, name, dead.get(owners[name], ""), marks[name]) for name in sorted(marks)
                   if owners[name] not in live_ids and name not in claimed]
        if not dry_run:
            for orphan in orphans:
                _drop(orphan)
    return orphans


def _drop(orphan: Orphan) -> None:
    """Drop the orphan if it still carries the mark it was judged by (a refusal is logged, not raised)."""
    if orphan.owner:
        unregister(orphan.owner)
    try:
        dbops.drop_owned_database(orphan.server, orphan.database, mark=orphan.mark)
    except dbops.OwnerMismatch:
        return  # re-marked since it was listed: someone owns it now
    logger.warning("dropped orphan database %s on %s (owner: %s)", orphan.database, orphan.server,
                   orphan.owner or "none")
