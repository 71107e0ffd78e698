"""Keep DatabaseServer rows in step with TENANT_DB_SERVERS, at start-up only.

Two moments cover every deployment without querying the database while apps
load (never in `AppConfig.ready`): the end of `migrate` on the control
database (every release runs it), and a Celery worker starting (before it
takes tasks). Requests never write: `GET /api/platform/servers/` only reads.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, connections

from core.aliases import CONTROL_ALIAS
from tenants.models import DatabaseServer
from tenants.services import servers_sync

logger = logging.getLogger("tessera.provisioning")


def sync_after_migrate(*, using: str = CONTROL_ALIAS, plan: Any = None, **kwargs: Any) -> None:
    """Sync servers once `migrate` has run on the control database (tenant databases are skipped)."""
    if using != CONTROL_ALIAS:
        return
    if DatabaseServer._meta.db_table not in connections[using].introspection.table_names():
        return  # the tenants app was migrated backwards to zero
    servers_sync()


def sync_at_worker_start(**kwargs: Any) -> None:
    """Sync servers in a starting worker, before its pool forks; never stop the worker over it."""
    try:
        servers_sync()
    except DatabaseError:
        logger.exception("could not sync database servers at worker start")
    finally:
        connections.close_all()  # forked pool processes must not share this connection
