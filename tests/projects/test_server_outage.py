"""A database server's outage answers 503 `database_unavailable` for its tenants only."""

from __future__ import annotations

from django.db import close_old_connections

from infra.local import config as infra_config
from infra.local import daemons as infra_daemons
from infra.local import postgres as infra_pg
from tests.conftest import wait_for
from tests.projects.conftest import TenantWorld, as_user


def test_a_tenant_behind_a_stopped_pooler_gets_503_while_other_servers_serve(
    product: dict[str, TenantWorld],
) -> None:
    alpha, beta = as_user(product["alpha"], "member"), as_user(product["beta"], "member")
    assert beta.get("/api/projects/").status_code == 200  # a pooled connection to server b exists
    try:
        infra_daemons.pgbouncer_down(infra_config.PG_B)
        for _ in range(3):  # the broken pooled link, then fresh connection attempts
            close_old_connections()  # what `request_finished` does in a server (the test client unhooks it)
            down = beta.get("/api/projects/")
            assert down.status_code == 503, down.content
            assert down.json()["code"] == "database_unavailable" and int(down["Retry-After"]) > 0
            assert alpha.get("/api/projects/").status_code == 200
    finally:
        infra_daemons.pgbouncer_up(infra_config.PG_B)

    def beta_serves() -> bool:
        close_old_connections()
        return bool(beta.get("/api/projects/").status_code == 200)

    wait_for(beta_serves, timeout=30, what="server b serving again")


def test_a_tenant_whose_postgresql_is_stopped_gets_503_while_other_servers_serve(
    product: dict[str, TenantWorld],
) -> None:
    alpha, beta = as_user(product["alpha"], "member"), as_user(product["beta"], "member")
    assert beta.get("/api/projects/").status_code == 200
    try:
        infra_pg.stop(infra_config.PG_B)  # PgBouncer b stays up: it answers for the dead server
        for _ in range(2):
            close_old_connections()
            down = beta.get("/api/projects/")
            assert down.status_code == 503, down.content
            assert down.json()["code"] == "database_unavailable" and int(down["Retry-After"]) > 0
            assert alpha.get("/api/projects/").status_code == 200
    finally:
        infra_pg.start(infra_config.PG_B)

    def beta_serves() -> bool:
        close_old_connections()
        return bool(beta.get("/api/projects/").status_code == 200)

    wait_for(beta_serves, timeout=60, what="server b serving again")
