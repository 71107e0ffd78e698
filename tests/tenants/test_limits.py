"""Plan limits on the real servers: applied at provisioning and on a plan change, and holding under a noisy tenant."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from django.db import connections
from django.test import Client, override_settings

from core.dbservers import configured_servers
from core.plans import plan_limits
from infra.local.config import pooler_include_files
from routers import tenant_context
from tenants import limits, pooler, resolution, selectors
from tenants.models import Tenant
from tests.tenants.conftest import Api, Background, provision, wait_for


@pytest.fixture
def managed_poolers() -> Iterator[dict[str, str]]:
    """Let the app rewrite the local poolers' include files; empty them again afterwards."""
    files = pooler_include_files()
    with override_settings(PGBOUNCER_DATABASES_FILES=files):
        yield files
        for server in configured_servers():
            for name, _target, endpoint in pooler.poolers(server):
                pooler.write_atomically(Path(files[name]), "")
                if endpoint is not None:
                    pooler.pooler_reload(configured_servers()[server], endpoint, user="postgres", password="postgres")


def database_limits(server: str, database: str) -> tuple[int, list[str]]:
    """Return the database's CONNECTION LIMIT and its own settings, read from the catalogs."""
    conn = configured_servers()[server].connect("postgres", application_name="tessera-test")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT d.datconnlimit, coalesce(s.setconfig, '{}') FROM pg_database d "
                           "LEFT JOIN pg_db_role_setting s ON s.setdatabase = d.oid AND s.setrole = 0 "
                           "WHERE d.datname = %s", [database])
            limit, config = cursor.fetchone()
            return int(limit), list(config)
    finally:
        conn.close()


def backends(server: str, database: str) -> int:
    """Count the client backends connected to `database` right now."""
    conn = configured_servers()[server].connect("postgres", application_name="tessera-test")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                           "AND backend_type = 'client backend'", [database])
            return int(cursor.fetchone()[0])
    finally:
        conn.close()


def test_provisioning_applies_the_plan_to_the_database_and_the_pooler(servers: None,
                                                                      managed_poolers: dict[str, str]) -> None:
    tenant = provision("p-lim-pro", plan="pro")
    limit, config = database_limits("b", tenant.database)
    assert limit == plan_limits("pro").connections + 5 == limits.connection_limit("pro")
    assert f"statement_timeout={plan_limits('pro').statement_timeout_ms}" in config
    assert "TimeZone=UTC" in config
    line = f"{tenant.database} = host=127.0.0.1"
    entry = next(row for row in Path(managed_poolers["b"]).read_text().splitlines() if row.startswith(line))
    assert entry.endswith("pool_size=5 max_db_connections=5")


def test_a_plan_change_applies_its_limits_at_once(platform: Api, managed_poolers: dict[str, str]) -> None:
    tenant = provision("p-lim-up")
    assert database_limits("b", tenant.database)[0] == limits.connection_limit("free")
    assert resolution.lookup("p-lim-up").spec.plan == "free"  # type: ignore[union-attr]
    response = platform.client.patch("/api/platform/tenants/p-lim-up/", {"plan": "enterprise"},
                                     content_type="application/json", HTTP_AUTHORIZATION=f"Token {platform.token}")
    assert response.status_code == 200, response.content
    limit, config = database_limits("b", tenant.database)
    assert limit == plan_limits("enterprise").connections + 5
    assert f"statement_timeout={plan_limits('enterprise').statement_timeout_ms}" in config
    assert f"dbname={tenant.database} pool_size=10 max_db_connections=10" in Path(managed_poolers["b"]).read_text()
    assert resolution.lookup("p-lim-up").spec.plan == "enterprise"  # type: ignore[union-attr]
    assert Tenant.objects.get(pk=tenant.pk).plan == "enterprise"


def test_a_plan_change_of_a_tenant_still_provisioning_waits_for_its_database(servers: None) -> None:
    from tenants import services

    tenant, _ = services.tenant_create(slug="p-lim-early", name="Early", admin_email="o@p-lim-early.test",
                                       admin_password="owner-pass-1", server="b", enqueue=False)
    services.tenant_update(slug="p-lim-early", name="Early", plan="pro")  # no database yet: nothing to alter
    job = selectors.latest_job(tenant=tenant)
    from tenants import provisioning

    assert job is not None and provisioning.job_run(job_id=job.pk) == "done"
    assert database_limits("b", tenant.database)[0] == limits.connection_limit("pro")


def _sleep_loop(spec: object, stop: threading.Event, errors: list[BaseException]) -> None:
    with tenant_context(spec):  # type: ignore[arg-type]
        while not stop.is_set():
            try:
                with connections[spec.alias].cursor() as cursor:  # type: ignore[attr-defined]
                    cursor.execute("SELECT pg_sleep(0.2)")
            except Exception as exc:
                errors.append(exc)
                return


def test_a_noisy_tenant_cannot_take_more_than_its_connections(servers: None, managed_poolers: dict[str, str]) -> None:
    noisy = provision("p-lim-noisy")
    provision("p-lim-quiet")
    spec = selectors.tenant_spec(noisy)
    api = Api(Client())
    token = api.tenant_token("p-lim-quiet", "owner@p-lim-quiet.test", "owner-pass-1")
    stop, errors = threading.Event(), []  # type: ignore[var-annotated]
    threads = [Background(lambda: _sleep_loop(spec, stop, errors)) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        pool = plan_limits("free").connections
        wait_for(lambda: backends("b", noisy.database) >= pool, 60, "the noisy tenant fills its pool")
        seen = [backends("b", noisy.database) for _ in range(10)]
        for _ in range(10):  # the other tenant on the server keeps answering meanwhile
            response = api.get("/api/me/", tenant="p-lim-quiet", token=token)
            assert response.status_code == 200, response.content
            seen.append(backends("b", noisy.database))
        assert max(seen) <= pool
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert errors == []  # the excess waited in the pooler, it was not refused


def test_direct_connections_beyond_the_connection_limit_are_refused(servers: None) -> None:
    noisy = provision("p-lim-direct")
    server, opened, refused = configured_servers()["b"], [], []
    try:
        for _ in range(limits.connection_limit("free") + 3):
            try:
                opened.append(server.connect(noisy.database, application_name="tessera-test-noisy"))
            except psycopg2.OperationalError as exc:
                refused.append(str(exc))
        assert len(opened) <= limits.connection_limit("free")
        assert refused and all("too many connections" in message for message in refused)
        assert backends("b", noisy.database) <= limits.connection_limit("free")
    finally:
        for conn in opened:
            conn.close()


def test_a_pooler_that_cannot_be_refreshed_does_not_fail_provisioning(servers: None, tmp_path: Path) -> None:
    with override_settings(PGBOUNCER_DATABASES_FILES={"b": str(tmp_path / "missing" / "b.ini")}):
        tenant = provision("p-lim-nopool")  # the include file's directory does not exist
        assert pooler.pooler_config_refresh(server="b") == 0
    assert tenant.status == "active"
    assert database_limits("b", tenant.database)[0] == limits.connection_limit("free")  # the backstop holds
