"""Replica selection against the real streaming replica of server a.

Lag is made deterministic with `pg_wal_replay_pause()` on the replica; failure
by stopping the replica's PostgreSQL with the project's own infra script.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import close_old_connections
from django.test import Client, override_settings

from core.health import run_checks
from infra.local import config as infra_config
from infra.local import postgres as infra_pg
from projects.models import Project
from routers import TenantSpec, consistency, tenant_context
from routers.runtime import runtime
from tests.conftest import wait_for
from tests.routers import urls_ryw
from tests.routers.helpers import (
    replay_paused,
    replica_cut_off,
    wait_pooler_reaches_replica,
    wait_replica_caught_up,
)


def _write_and_take_token(spec: TenantSpec, key: str) -> str:
    with consistency.read_scope() as scope, tenant_context(spec):
        Project.objects.create(name="w", key=key)
        token = consistency.capture({spec.alias: spec.server})
    assert token and token.startswith(f"{spec.server}@") and scope.written == {spec.alias}
    return token


def test_token_round_trips_and_ignores_garbage() -> None:
    required = consistency.parse_token("a@0/3000060, b@1/FF,junk,c@zz/1,a@0/10")
    assert required == {"a": 0x3000060, "b": (1 << 32) | 0xFF}
    assert consistency.parse_token(consistency.encode_token(required)) == required


def test_a_reader_with_a_token_reads_its_write_while_the_replica_is_paused(
    tenants: dict[str, TenantSpec],
) -> None:
    alpha = tenants["alpha"]
    with replay_paused():
        token = _write_and_take_token(alpha, "RW")
        with consistency.read_scope(token), tenant_context(alpha):
            queryset = Project.objects.all()
            assert queryset.db == "tenant:alpha"  # the replica has not replayed the write
            assert list(queryset.values_list("key", flat=True)) == ["RW"]
        with consistency.read_scope(), tenant_context(alpha):
            stale = Project.objects.all()
            assert stale.db == "tenant:alpha:replica"  # no token: the replica is fine for it
            assert list(stale.values_list("key", flat=True)) == []  # ...and shows why tokens matter
    with consistency.read_scope(token), tenant_context(alpha):
        assert Project.objects.all().db == "tenant:alpha:replica"  # replayed: back to the replica


def test_a_replica_lagging_beyond_the_bound_is_skipped(tenants: dict[str, TenantSpec]) -> None:
    alpha = tenants["alpha"]
    with override_settings(REPLICA_MAX_LAG_SECONDS=0.2, REPLICA_LSN_CACHE_SECONDS=0.0), replay_paused():
        _write_and_take_token(alpha, "LG")
        time.sleep(0.3)
        with consistency.read_scope(), tenant_context(alpha):
            assert Project.objects.all().db == "tenant:alpha"
            assert Project.objects.filter(key="LG").exists()


@pytest.mark.urls("tests.routers.urls_ryw")
def test_http_clients_get_a_read_after_token_and_read_their_writes(tenants: dict[str, TenantSpec]) -> None:
    urls_ryw.WORLD.update(tenants)
    client = Client()
    with replay_paused():
        created = client.post("/projects?key=HT", HTTP_X_TENANT="alpha")
        assert created.status_code == 201
        token = created[settings.READ_AFTER_HEADER]
        assert token.startswith("a@")
        assert settings.READ_AFTER_COOKIE in created.cookies
        # Same client (cookie): reads its write from the primary.
        assert client.get("/projects", HTTP_X_TENANT="alpha").json() == {"keys": ["HT"], "db": "tenant:alpha"}
        # Another client with only the header: same guarantee.
        other = Client().get("/projects", HTTP_X_TENANT="alpha", HTTP_X_TESSERA_READ_AFTER=token)
        assert other.json()["keys"] == ["HT"]
        # A forged cookie is ignored (signed): that client reads the paused replica.
        forged = Client()
        forged.cookies[settings.READ_AFTER_COOKIE] = token
        assert forged.get("/projects", HTTP_X_TENANT="alpha").json()["db"] == "tenant:alpha:replica"


@pytest.mark.urls("tests.routers.urls_ryw")
def test_a_write_request_validates_against_the_primary_not_a_lagging_replica(
    tenants: dict[str, TenantSpec],
) -> None:
    urls_ryw.WORLD.update(tenants)
    with replay_paused():
        first = Client().post("/projects?key=DUP", HTTP_X_TENANT="alpha")
        assert first.status_code == 201 and first.json()["read_from"] == "tenant:alpha"
        # A second client without the first one's token: its GET may read the paused
        # replica, but its POST must see the row the replica has not replayed yet.
        other = Client()
        assert other.get("/projects", HTTP_X_TENANT="alpha").json()["db"] == "tenant:alpha:replica"
        again = other.post("/projects?key=DUP", HTTP_X_TENANT="alpha")
        assert again.status_code == 409 and again.json()["read_from"] == "tenant:alpha"


def _wait_until_the_replica_serves(spec: TenantSpec, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with consistency.read_scope(), tenant_context(spec):
            projects = Project.objects.all()
            if projects.db == spec.replica_alias(0) and list(projects.values_list("key", flat=True)):
                return
        assert time.monotonic() < deadline, runtime.health.snapshot()
        time.sleep(0.1)


@pytest.mark.urls("tests.routers.urls_ryw")
@override_settings(REPLICA_RETRY_SECONDS=2.0)
def test_stopping_the_replica_under_load_causes_no_errors(tenants: dict[str, TenantSpec]) -> None:
    urls_ryw.WORLD.update(tenants)
    with tenant_context(tenants["alpha"]):
        Project.objects.create(name="p", key="LD")
    wait_replica_caught_up()
    _wait_until_the_replica_serves(tenants["alpha"])  # an earlier restart may have left stale pooled links
    statuses: list[int] = []
    served_by: set[str] = set()
    stop = threading.Event()

    def load() -> None:
        client = Client(raise_request_exception=False)
        while not stop.is_set():
            response = client.get("/projects", HTTP_X_TENANT="alpha")
            statuses.append(response.status_code)
            if response.status_code == 200:
                assert response.json()["keys"] == ["LD"]
                served_by.add(response.json()["db"])

    worker = threading.Thread(target=load)
    worker.start()
    try:
        wait_for(lambda: "tenant:alpha:replica" in served_by, 60, "a read served by the replica")
        infra_pg.stop(infra_config.PG_A_REPLICA)
        stopped_at = len(statuses)
        wait_for(lambda: len(statuses) >= stopped_at + 5 and "tenant:alpha" in served_by, 60,
                 "reads served by the primary once the replica is down")
    finally:
        stop.set()
        worker.join()
        infra_pg.start(infra_config.PG_A_REPLICA)
        infra_pg.wait_streaming(infra_config.PG_A_REPLICA)
        wait_pooler_reaches_replica(tenants["alpha"].database)
    assert statuses and set(statuses) == {200}, f"{len(statuses)} requests, statuses {set(statuses)}"
    assert served_by == {"tenant:alpha", "tenant:alpha:replica"}
    assert any(v["failed_until"] > 0 for v in runtime.health.snapshot().values())
    wait_replica_caught_up(reset=False)
    # No manual reset: the breaker lets the replica back in after REPLICA_RETRY_SECONDS.
    deadline = time.monotonic() + settings.REPLICA_RETRY_SECONDS + 60
    with consistency.read_scope(), tenant_context(tenants["alpha"]):
        while Project.objects.all().db != "tenant:alpha:replica":
            assert time.monotonic() < deadline, runtime.health.snapshot()
            time.sleep(0.1)


def test_a_replica_cut_off_from_its_primary_serves_no_reads_and_fails_readiness(
    tenants: dict[str, TenantSpec],
) -> None:
    alpha = tenants["alpha"]
    with override_settings(REPLICA_LSN_CACHE_SECONDS=0.0), replica_cut_off():
        # It answers and has replayed all it received, so it looks caught up;
        # without a WAL receiver its data can only get staler.
        with consistency.read_scope(), tenant_context(alpha):
            assert Project.objects.all().db == "tenant:alpha"
        checks = run_checks()
        assert not checks["server:a:replica0"]["ok"]
        assert "not streaming" in checks["server:a:replica0"]["error"]
    with override_settings(REPLICA_LSN_CACHE_SECONDS=0.0), consistency.read_scope(), tenant_context(alpha):
        assert Project.objects.all().db == "tenant:alpha:replica"  # streaming again: back in rotation


@pytest.mark.urls("tests.routers.urls_ryw")
def test_a_committed_write_answers_success_when_its_wal_position_cannot_be_read(
    tenants: dict[str, TenantSpec],
) -> None:
    urls_ryw.WORLD.update(tenants)
    client = Client(raise_request_exception=False)
    created = client.post("/projects-lost?key=LOST", HTTP_X_TENANT="alpha")
    assert created.status_code == 201, created.content
    assert settings.READ_AFTER_HEADER not in created  # no position to promise
    pin = created.cookies[settings.READ_AFTER_COOKIE]
    assert 0 < int(pin["max-age"]) <= settings.REPLICA_MAX_LAG_SECONDS + 1
    close_old_connections()  # what `request_finished` does in a server (the test client unhooks it)
    with replay_paused():  # the replica cannot have the row: only the primary answers with it
        assert client.get("/projects", HTTP_X_TENANT="alpha").json() == {"keys": ["LOST"], "db": "tenant:alpha"}
    with tenant_context(tenants["alpha"]):
        assert Project.objects.filter(key="LOST").count() == 1
