"""The one way to open a direct PostgreSQL connection (outside Django's ORM).

Maintenance work (creating and dropping tenant databases, advisory locks,
readiness probes, pooler admin commands) needs a plain psycopg2 connection.
Every such connection is opened here so that each carries the server's
options (``sslmode`` and the like), a connect timeout and an
``application_name``, and is in autocommit unless asked otherwise. Entry
points: `ServerConfig.connect()` for a tenant database server and
`connect_alias()` for a Django alias such as the control plane.
"""

from __future__ import annotations

from typing import Any

import psycopg2
from django.conf import settings
from psycopg2.extensions import connection as PgConnection


def connect(*, host: str, port: int, user: str, password: str, dbname: str, application_name: str,
            autocommit: bool = True, **params: Any) -> PgConnection:
    """Open a connection; `params` are libpq keywords and win over the defaults (connect_timeout)."""
    params.setdefault("connect_timeout", settings.DB_CONNECT_TIMEOUT)
    conn = psycopg2.connect(host=host, port=port, user=user, password=password, dbname=dbname,
                            application_name=application_name[:63], **params)
    conn.autocommit = autocommit
    return conn


def connect_alias(alias: str, *, application_name: str, dbname: str | None = None, autocommit: bool = True,
                  **overrides: Any) -> PgConnection:
    """Open a direct connection with the settings of Django alias `alias` (its OPTIONS included)."""
    db = settings.DATABASES[alias]
    params = {**db.get("OPTIONS", {}), **overrides}
    params.pop("application_name", None)
    return connect(host=db["HOST"], port=int(db["PORT"] or 5432), user=db["USER"], password=db["PASSWORD"],
                   dbname=dbname or db["NAME"], application_name=application_name, autocommit=autocommit,
                   **params)
