"""`pgbouncer_config` writes one [databases] file per pooler: a server's primary and each replica."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command

from core.dbservers import configured_servers
from tenants import services
from tests.factories import TenantFactory


def test_every_pooler_of_a_server_gets_its_tenants_with_plan_pool_sizes(control_db: None, tmp_path: Path,
                                                                       capsys: object) -> None:
    services.servers_sync()
    for slug, plan in (("pool-big", "enterprise"), ("pool-small", "free")):
        TenantFactory(slug=slug, plan=plan)
    TenantFactory(slug="pool-other", server_id="b")
    call_command("pgbouncer_config", "--server", "a", "--output", str(tmp_path / "{server}.ini"),
                 "--reload", "--admin-password", "postgres")  # RELOAD on the real poolers
    server = configured_servers()["a"]
    primary, replica = (tmp_path / "a.ini").read_text(), (tmp_path / "a-replica0.ini").read_text()
    port, replica_port = server.primary.port, server.replicas[0].port
    assert f"tt_pool_big = host=127.0.0.1 port={port} dbname=tt_pool_big pool_size=10" in primary
    assert f"tt_pool_big = host=127.0.0.1 port={replica_port} dbname=tt_pool_big pool_size=10" in replica
    assert "tt_pool_small" in primary and "tt_pool_small" in replica
    assert "tt_pool_other" not in primary + replica  # lives on server b
    assert "wrote" in capsys.readouterr().out  # type: ignore[attr-defined]
