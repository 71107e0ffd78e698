"""`/metrics`: every family after real traffic, access rules, and metrics that never fail a request."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from core import metering, metrics
from core.celery import ping
from tests.tenants.conftest import Api, provision, run_django, wait_for

FAMILIES = {
    "tessera_http_requests", "tessera_http_request_duration_seconds", "tessera_tenant_requests",
    "tessera_db_read_routing", "tessera_db_open_connections", "tessera_db_connection_budget",
    "tessera_replica_breaker_open", "tessera_replica_up", "tessera_replica_lag_seconds",
    "tessera_pooler_up", "tessera_pooler_client_connections", "tessera_pooler_server_connections",
    "tessera_pooler_clients_waiting", "tessera_pooler_server_connections_cap", "tessera_pooler_transactions",
    "tessera_pooler_queries", "tessera_pooler_wait_seconds", "tessera_tenants", "tessera_jobs",
    "tessera_job_duration_seconds", "tessera_jobs_open_oldest_age_seconds", "tessera_jobs_stall_seconds",
    "tessera_fleet_migration_databases", "tessera_fleet_migration_run_status",
    "tessera_fleet_migration_run_duration_seconds", "tessera_celery_queue_length", "tessera_celery_tasks",
    "tessera_metrics_dropped",
}


def scrape(client: Client | None = None, **headers: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Return family and sample names -> [(labels, value)] from one GET /metrics."""
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        found.setdefault(family.name, [])
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(families: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for sample_labels, v in families.get(name, []) if labels.items() <= sample_labels.items())


@pytest.fixture
def fresh_scrapes(settings: pytest.FixtureRequest) -> None:
    settings.METRICS_CACHE_SECONDS = 0  # type: ignore[attr-defined]  # every scrape reads the control plane again


@pytest.mark.usefixtures("fresh_scrapes")
def test_metrics_shows_every_family_after_platform_tenant_job_and_task_traffic(platform: Api) -> None:
    tenant = provision("p-metrics", server="a")  # a finished provisioning job, on the server with a replica
    token = platform.tenant_token(tenant.slug, "owner@p-metrics.test", "owner-pass-1")
    assert platform.get("/api/platform/tenants/").status_code == 200
    for _ in range(3):
        assert platform.get("/api/projects/", tenant=tenant.slug, token=token).status_code == 200
    assert platform.get("/api/projects/999/", tenant=tenant.slug, token=token).status_code == 404
    ping.delay()  # run by the real worker process, which writes into the same directory

    wait_for(lambda: value(scrape(), "tessera_celery_tasks_total", task="core.ping", outcome="success") >= 1,
             timeout=60, what="the worker's task outcome in the scrape")
    families = scrape()
    assert FAMILIES - set(families) == set()
    assert value(families, "tessera_http_requests_total", plane="platform", route="/api/platform/tenants/",
                 method="GET", status="2xx") >= 1
    detail_404 = [labels["route"] for labels, _ in families["tessera_http_requests_total"]
                  if labels["plane"] == "tenant" and labels["status"] == "4xx"]
    assert detail_404 and all(route.startswith("/api/projects/") and "999" not in route for route in detail_404)
    assert value(families, "tessera_http_request_duration_seconds_count", plane="tenant") >= 4
    assert value(families, "tessera_tenant_requests_total", tenant="p-metrics") >= 4
    assert value(families, "tessera_db_read_routing_total", plane="tenant") >= 1
    assert value(families, "tessera_tenants", status="active") >= 1
    assert value(families, "tessera_jobs", kind="provision", status="done") >= 1
    assert value(families, "tessera_job_duration_seconds_count", kind="provision", status="done") >= 1
    assert value(families, "tessera_pooler_up", server="a", pooler="primary") == 1
    assert value(families, "tessera_replica_up", server="a", replica="0") == 1
    assert value(families, "tessera_db_connection_budget", kind="server") >= 1
    assert not any(re.search(r"\d{2,}", labels.get("route", "")) for labels, _ in
                   families["tessera_http_requests_total"])  # patterns, never raw paths with ids


def test_read_your_writes_pin_is_counted_as_pinned(platform: Api) -> None:
    tenant = provision("p-pinned", server="a")
    token = platform.tenant_token(tenant.slug, "owner@p-pinned.test", "owner-pass-1")
    before = value(scrape(), "tessera_db_read_routing_total", plane="tenant", decision="pinned")
    created = platform.post("/api/projects/", {"name": "P", "key": "PIN"}, tenant=tenant.slug, token=token)
    assert created.status_code == 201, created.content  # a write request reads from the primary
    assert value(scrape(), "tessera_db_read_routing_total", plane="tenant", decision="pinned") > before


@pytest.mark.unit
def test_a_remote_client_without_the_token_is_refused_with_json(settings: pytest.FixtureRequest) -> None:
    settings.METRICS_TOKEN = "scrape-secret"  # type: ignore[attr-defined]
    remote = Client(REMOTE_ADDR="203.0.113.9")
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": "Token scrape-secret"}):
        response = remote.get("/metrics", **headers)
        assert response.status_code == 403
        assert response.json()["code"] == "metrics_forbidden"


@pytest.mark.unit
def test_no_token_configured_means_loopback_only(settings: pytest.FixtureRequest) -> None:
    settings.METRICS_TOKEN = ""  # type: ignore[attr-defined]
    response = Client(REMOTE_ADDR="203.0.113.9").get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


def test_a_remote_client_with_the_token_and_a_loopback_client_may_scrape(
        control_db: None, settings: pytest.FixtureRequest) -> None:
    settings.METRICS_TOKEN = "scrape-secret"  # type: ignore[attr-defined]
    families = scrape(Client(REMOTE_ADDR="203.0.113.9"), HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert "tessera_metrics_dropped" in families
    assert "tessera_metrics_dropped" in scrape(Client(REMOTE_ADDR="::1"))


DIRECTORY_FAILS = """
import json, os, shutil
from django.test import Client
client = Client()
phases = {}
phases["before"] = [client.get("/healthz").status_code, client.get("/api/nope/").status_code]
if os.environ.get("REMOVE_DURING_RUN"):
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"])
phases["after"] = [client.get("/healthz").status_code, client.get("/api/platform/nope/").status_code]
scrape = client.get("/metrics")
from core import metering, metrics
print(json.dumps({"phases": phases, "scrape": scrape.status_code, "body": scrape.content.decode(),
                  "dropped": metrics.dropped()}))
"""


def _run_with_directory(directory: str, **env: str) -> dict[str, object]:
    done = run_django(DIRECTORY_FAILS, PROMETHEUS_MULTIPROC_DIR=directory, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_requests_succeed_and_samples_are_counted_as_dropped_when_the_directory_is_unusable(
        control_db: None, tmp_path: pytest.TempPathFactory) -> None:
    blocker = tmp_path / "a-file"  # type: ignore[operator]
    blocker.write_text("not a directory")  # nothing can be created under it, whoever runs the test
    result = _run_with_directory(str(blocker / "metrics"))
    assert result["phases"] == {"before": [200, 404], "after": [200, 404]}
    assert result["scrape"] == 200
    assert result["dropped"] >= 4
    assert re.search(r"^tessera_metrics_dropped_total ([1-9]\d*)\.0$", str(result["body"]), re.MULTILINE)


def test_requests_succeed_when_the_directory_is_removed_during_the_run(
        control_db: None, tmp_path: pytest.TempPathFactory) -> None:
    directory = tmp_path / "metrics"  # type: ignore[operator]
    directory.mkdir()
    result = _run_with_directory(str(directory), REMOVE_DURING_RUN="1")
    assert result["phases"] == {"before": [200, 404], "after": [200, 404]}
    assert result["scrape"] == 200  # the shared families are gone with the directory, the rest still answers
    assert "tessera_metrics_dropped_total" in str(result["body"])


@pytest.mark.unit
def test_status_classes_are_bounded() -> None:
    assert [metrics.status_class(code) for code in (100, 204, 302, 404, 503, 999)] == \
        ["1xx", "2xx", "3xx", "4xx", "5xx", "5xx"]


@pytest.mark.unit
def test_only_the_busiest_tenants_get_their_own_label() -> None:
    top = metrics.TopTenants(2, every=1)
    for slug in ["a"] * 5 + ["b"] * 4 + ["c"] * 3:
        top.label(slug)
    assert top.label("a") == "a"
    assert top.label("b") == "b"
    assert top.label("c") == metrics.OTHER_TENANTS
    assert metrics.TopTenants(0).label("a") == metrics.OTHER_TENANTS


@pytest.mark.unit
def test_a_failing_write_is_dropped_and_counted() -> None:
    before = metrics.dropped()

    def fails() -> None:
        raise OSError("read-only file system")

    metrics.record(fails)
    assert metrics.dropped() == before + 1


def test_a_pooler_and_replica_that_do_not_answer_are_reported_down_and_the_scrape_still_succeeds(
        control_db: None, settings: pytest.FixtureRequest) -> None:
    from tests.conftest import free_port

    dead = free_port()
    settings.METRICS_CACHE_SECONDS = 0  # type: ignore[attr-defined]
    settings.TENANT_DB_SERVERS += (  # type: ignore[attr-defined]
        f";gone=postgres://tessera:tessera@127.0.0.1:{dead},replicas=127.0.0.1:{dead},pooler=127.0.0.1:{dead}")
    families = scrape()
    assert value(families, "tessera_pooler_up", server="gone", pooler="primary") == 0
    assert value(families, "tessera_replica_up", server="gone", replica="0") == 0
    assert value(families, "tessera_pooler_up", server="a", pooler="primary") == 1  # the others still answer


def test_task_failures_and_retries_are_counted_by_task_name(control_db: None) -> None:
    from celery import signals

    before = scrape()
    signals.task_failure.send(sender=ping, task_id="t1", exception=RuntimeError("boom"))
    signals.task_retry.send(sender=ping, request=None, reason="later")
    after = scrape()
    for outcome in ("failure", "retry"):
        assert value(after, "tessera_celery_tasks_total", task="core.ping", outcome=outcome) == \
            value(before, "tessera_celery_tasks_total", task="core.ping", outcome=outcome) + 1


@pytest.mark.usefixtures("fresh_scrapes")
def test_records_dropped_on_purpose_reach_metrics_by_kind(control_db: None) -> None:
    before = value(scrape(), "tessera_records_dropped_total", kind="usage")
    metering.dropped.incr("usage")  # what tenants.usage does when Redis refuses an increment
    assert value(scrape(), "tessera_records_dropped_total", kind="usage") == before + 1
    assert metering.dropped.snapshot()["usage"] >= 1
