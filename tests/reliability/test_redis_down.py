"""Redis really stopped (the local daemon, by pid): the tenant API keeps serving, then recovers.

Redis holds the stats cache, the throttle buckets and the tenant cache
generation. With it gone every cache read is a miss and every write is
dropped, so the API answers from PostgreSQL and rate limits fail open; once
Redis is back, caching and throttling work again without a restart.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.test import override_settings
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from core.celery import app
from infra.local import config as infra_config
from infra.local import daemons, system
from tests.api import Api
from tests.reliability.world import SeededTenant

LOW_USER_LIMIT = {"tenant": "1000000/min", "tenant_user": "5/min"}


@contextmanager
def redis_stopped() -> Iterator[dict[str, Any]]:
    """Stop the local Redis for the block; start it again and wait for the Celery workers that were up.

    Yield a dict that receives, after the block, the workers still silent after
    a minute (`missing`) and how long the others took to answer again (`back_after`).
    """
    workers, outage = _workers_answering(), {}
    daemons.redis_down()
    try:
        assert not system.port_open(infra_config.REDIS_PORT)
        yield outage
    finally:
        daemons.redis_up()
        started, missing = time.monotonic(), workers
        while missing and time.monotonic() < started + 180:
            missing = workers - _workers_answering()
        outage.update(missing=missing, back_after=time.monotonic() - started)


def _workers_answering() -> set[str]:
    """Return the names of the Celery workers that answer a ping (the broker is this Redis)."""
    try:
        return {name for reply in app.control.ping(timeout=0.5) or [] for name in reply}
    except (OSError, RedisError, KombuError):
        return set()  # a pooled broker connection from before the restart fails once, then reconnects


def _calls(tenant: SeededTenant, client: Api, n: int) -> list[tuple[str, Callable[[], Any]]]:
    project, task = tenant.ids["project"][0], tenant.ids["task"][0]
    return [
        ("GET projects", lambda: client.get("/api/projects/")),
        ("POST projects", lambda: client.post("/api/projects/", {"name": "offline", "key": f"OFF{n}"})),
        ("GET tasks", lambda: client.get("/api/tasks/", {"project": project})),
        ("POST tasks", lambda: client.post("/api/tasks/", {"project": project, "title": f"offline {n}"})),
        ("GET task", lambda: client.get(f"/api/tasks/{task}/")),
        ("PATCH task", lambda: client.patch(f"/api/tasks/{task}/", {"status": "in_progress"})),
        ("POST comment", lambda: client.post(f"/api/tasks/{task}/comments/", {"body": "offline"})),
        ("GET stats", lambda: client.get(f"/api/projects/{project}/stats/")),
        ("GET me", lambda: client.get("/api/me/")),
    ]


def _stats_cached(client: Api, tenant: SeededTenant) -> list[bool]:
    path = f"/api/projects/{tenant.ids['project'][0]}/stats/"
    return [client.get(path).json()["cached"] for _ in range(2)]


def test_the_tenant_api_serves_while_redis_is_stopped_and_recovers_after(
    make_world: Callable[..., list[SeededTenant]], report: Callable[[str], None],
) -> None:
    world = make_world("rel-redis", ["a", "b"])
    admins = {t.slug: Api(token=t.tokens["admin"], tenant=t.slug) for t in world}
    assert all(_stats_cached(admins[t.slug], t) == [False, True] for t in world)  # Redis caches

    answers: list[tuple[str, int, float]] = []
    with override_settings(TENANT_THROTTLE_RATES=LOW_USER_LIMIT), redis_stopped() as outage:
        for n in range(10):  # twice the per-user limit: a working throttle would answer 429
            for tenant in world:
                for name, call in _calls(tenant, admins[tenant.slug], n):
                    started = time.perf_counter()
                    response = call()
                    answers.append((f"{tenant.slug} {name}: {response.content[:200]!r}", response.status_code,
                                    (time.perf_counter() - started) * 1000))
                    if name == "GET stats" and response.status_code == 200:
                        assert response.json()["cached"] is False
    failed = [(what, status) for what, status, _ in answers if not 200 <= status < 300]
    assert not failed, failed
    assert not outage["missing"], "Celery workers did not reconnect to the restarted broker"

    # Back up: the cache caches and the throttle limits again, without restarting anything.
    with override_settings(TENANT_THROTTLE_RATES=LOW_USER_LIMIT):
        for tenant in world:
            assert _stats_cached(admins[tenant.slug], tenant) == [False, True]
            member = Api(token=tenant.tokens["member"], tenant=tenant.slug)
            assert [member.get("/api/me/").status_code for _ in range(6)] == [200] * 5 + [429]
    latencies = [ms for _, _, ms in answers]
    report(f"redis stopped: {len(answers)} tenant API requests, 0 non-2xx, p50 {statistics.median(latencies):.1f} ms,"
           f" max {max(latencies):.1f} ms; cache and throttle back at once after restart, Celery workers "
           f"answering again after {outage['back_after']:.1f} s")
