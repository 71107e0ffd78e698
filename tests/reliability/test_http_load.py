"""A real gunicorn under load over 20 tenants: no errors, also while server a's replica stops.

`RELIABILITY_LOAD_SECONDS` (default 60) sets how long the sustained load runs.
Latency and throughput are printed (and repeated in the run's summary), not
asserted: the machine running the suite decides them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

from infra.local import config as infra_config
from infra.local import postgres as infra_pg
from tests.reliability.load import LoadResult, Server, mixed_traffic, run_load
from tests.reliability.world import SeededTenant
from tests.routers.helpers import replica_port, superuser_query, wait_pooler_reaches_replica

CLIENTS = 8  # concurrent requests in flight: 2 gunicorn workers x 4 threads


@pytest.fixture(scope="module")
def fleet(make_world: Callable[..., list[SeededTenant]]) -> list[SeededTenant]:
    """Twenty tenants, half on server a (with a replica), half on server b."""
    return make_world("rel-load", ["a", "b"] * 10, tasks_per_project=5)


def _check(result: LoadResult) -> None:
    assert result.requests > 0
    assert result.bad == 0, result.summary() + "\n" + "\n".join(result.failures)


def test_a_sustained_mixed_load_over_20_tenants_has_no_errors(
    fleet: list[SeededTenant], web_server: Server, report: Callable[[str], None],
) -> None:
    seconds = float(os.environ.get("RELIABILITY_LOAD_SECONDS", "60"))
    result = run_load(web_server, mixed_traffic(fleet), seconds=seconds, clients=CLIENTS, seed=1)
    report(f"load over {len(fleet)} tenants, {CLIENTS} clients, 80/20 read/write: {result.summary()}")
    _check(result)


def _replica_backends(prefix: str) -> int:
    """Count server a's replica backends serving the suite's tenant databases (via its PgBouncer)."""
    sql = f"SELECT count(*) FROM pg_stat_activity WHERE datname LIKE '{prefix}%'"
    return int(superuser_query(replica_port(), sql)[0][0])


def test_stopping_the_replica_under_http_load_causes_no_errors(
    fleet: list[SeededTenant], web_server: Server, report: Callable[[str], None],
) -> None:
    on_a = [t for t in fleet if t.spec.server == "a"]
    # Reads and writes: write requests read from the primary, safe ones fail over to it.
    draw = mixed_traffic(on_a, write_share=0.3)
    _check(run_load(web_server, draw, seconds=1, clients=CLIENTS, seed=2))
    assert _replica_backends(on_a[0].spec.database.rsplit("_", 1)[0]) > 0  # the replica serves reads

    result = LoadResult()
    loader = threading.Thread(target=lambda: result.merge(run_load(web_server, draw, seconds=4, clients=CLIENTS,
                                                                   seed=3)))
    loader.start()
    try:
        time.sleep(1)
        infra_pg.stop(infra_config.PG_A_REPLICA)
    finally:
        loader.join()
        infra_pg.start(infra_config.PG_A_REPLICA)
        infra_pg.wait_streaming(infra_config.PG_A_REPLICA)
        wait_pooler_reaches_replica(on_a[0].spec.database)
    result.seconds = 4
    report(f"replica of server a stopped under HTTP load ({len(on_a)} tenants, 70/30 read/write): "
           f"{result.summary()}")
    _check(result)
