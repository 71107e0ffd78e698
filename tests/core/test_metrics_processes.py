"""Samples of several gunicorn workers add up in one scrape (a real gunicorn, production configuration)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import wait_for
from tests.reliability.load import Server, gunicorn, send


@pytest.fixture(scope="module")
def two_workers(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A gunicorn with 2 workers and a metrics directory of its own (only its workers' files in it)."""
    ours = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    with contextlib.ExitStack() as stack:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path_factory.mktemp("gunicorn-metrics"))
        try:  # gunicorn inherits the environment when it starts; this process keeps its own directory
            server = stack.enter_context(gunicorn(workers=2, threads=2))
        finally:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = ours
        yield server


def _scrape(server: Server) -> dict[str, list[tuple[dict[str, str], float]]]:
    status, body = _get(server, "/metrics")
    assert status == 200
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _get(server: Server, path: str) -> tuple[int, str]:
    status, body = send((server.host, server.port), ("GET", path, None, {}))
    return status, body.decode()


def _worker_pids(families: dict[str, list[tuple[dict[str, str], float]]]) -> set[str]:
    return {labels["pid"] for labels, _ in families.get("tessera_db_open_connections", [])}


def test_one_scrape_sums_the_requests_of_both_gunicorn_workers(two_workers: Server) -> None:
    sent = 0

    def both_workers_reported() -> bool:
        nonlocal sent
        for _ in range(10):  # fresh connections: the two workers take turns accepting them
            assert _get(two_workers, "/healthz")[0] == 200
            sent += 1
        return len(_worker_pids(_scrape(two_workers))) >= 2

    wait_for(both_workers_reported, timeout=120, what="per-process gauges of two workers")
    families = _scrape(two_workers)
    healthz = sum(v for labels, v in families["tessera_http_requests_total"] if labels["route"] == "/healthz")
    assert healthz >= sent  # every request counted once, whichever worker served it
