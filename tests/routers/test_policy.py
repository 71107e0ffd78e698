"""Per-alias pooling policy and complete runtime alias entries."""

from __future__ import annotations

import pytest
from django.db import connections

from core.dbservers import configured_servers
from routers import TenantSpec, tenant_context
from routers.policy import AliasClass, policy_for
from tests.routers.helpers import pgbouncer_clients


def test_runtime_aliases_carry_every_key_django_fills_for_default(tenants: dict[str, TenantSpec]) -> None:
    default_keys = set(connections.settings["default"])
    alpha = tenants["alpha"]
    for alias in (alpha.alias, alpha.direct_alias, alpha.replica_alias(0)):
        assert default_keys <= set(connections.settings[alias]), alias
        assert set(connections.settings["default"]["TEST"]) <= set(connections.settings[alias]["TEST"])


def test_tenant_traffic_goes_through_pgbouncer_and_migrations_go_direct(tenants: dict[str, TenantSpec]) -> None:
    server = configured_servers()["a"]
    alpha = tenants["alpha"]
    pooled, direct = connections.settings[alpha.alias], connections.settings[alpha.direct_alias]
    replica = connections.settings[alpha.replica_alias(0)]
    assert int(pooled["PORT"]) == server.pooler.port and pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "options" not in pooled["OPTIONS"]  # PgBouncer drops it: timeouts live on the database
    assert int(replica["PORT"]) == server.replica_poolers[0].port
    assert int(direct["PORT"]) == server.primary.port and direct["CONN_MAX_AGE"] == 0
    assert direct["DISABLE_SERVER_SIDE_CURSORS"] is False
    with tenant_context(alpha), connections[alpha.alias].cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("30s",)  # set per database at creation
        cursor.execute("SELECT current_setting('application_name')")
        assert cursor.fetchone() == ("tessera-tenant",)
    assert pgbouncer_clients(server.pooler.port, alpha.database) >= 1


@pytest.mark.unit
def test_direct_control_connections_get_timeouts_as_startup_options() -> None:
    options = policy_for(AliasClass.CONTROL).connection_settings("x")["OPTIONS"]
    assert "statement_timeout=30000" in options["options"]
    assert "idle_in_transaction_session_timeout" in options["options"]
    assert policy_for(AliasClass.MIGRATIONS).connection_settings("m")["CONN_MAX_AGE"] == 0
