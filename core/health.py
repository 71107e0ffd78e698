"""Liveness (`/healthz`) and readiness (`/readyz`) endpoints.

Readiness checks every dependency concurrently with short timeouts over fresh
connections (so a broken pooled connection cannot hide an outage): the control
database and its replica, every tenant server's primary, replicas (with replay
lag) and poolers, Redis and the Celery broker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg2
import redis
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from core.dbservers import REPLICA_LAG_EXPR, Endpoint, configured_servers

CHECK_TIMEOUT_SECONDS = 2
LAG_SQL = f"SELECT pg_is_in_recovery(), {REPLICA_LAG_EXPR}"

Check = Callable[[], dict[str, Any]]


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Return 200 while the process can answer at all."""
    return JsonResponse({"status": "ok"})


@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Return 200 when every dependency answers, else 503 with what failed."""
    checks = _checks()
    with ThreadPoolExecutor(max_workers=min(8, len(checks))) as pool:
        futures = {name: pool.submit(_timed, check) for name, check in checks.items()}
        results = {name: future.result() for name, future in futures.items()}
    ready = all(result["ok"] for result in results.values())
    body = {"status": "ready" if ready else "unavailable", "checks": results}
    return JsonResponse(body, status=200 if ready else 503)


def _timed(check: Check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception as exc:  # a readiness probe reports every failure
        result = {"ok": False, "error": f"{type(exc).__name__}: {str(exc).strip()[:200]}"}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _checks() -> dict[str, Check]:
    checks: dict[str, Check] = {
        "control": lambda: _pg_check_alias("default"),
        "control_replica": lambda: _pg_check_alias("default_replica"),
        "redis": _redis_check,
        "broker": _broker_check,
    }
    for server in configured_servers().values():
        user, password = server.user, server.password
        checks[f"server:{server.name}:primary"] = _endpoint_check(server.primary, user, password)
        if server.pooler:
            checks[f"server:{server.name}:pooler"] = _endpoint_check(server.pooler, user, password)
        for i, replica in enumerate(server.replicas):
            checks[f"server:{server.name}:replica{i}"] = _endpoint_check(replica, user, password)
        for i, pooler in enumerate(server.replica_poolers):
            checks[f"server:{server.name}:replica{i}_pooler"] = _endpoint_check(pooler, user, password)
    return checks


def _endpoint_check(endpoint: Endpoint, user: str, password: str) -> Check:
    def check() -> dict[str, Any]:
        return _pg_query(host=endpoint.host, port=endpoint.port, user=user, password=password,
                         dbname="postgres")
    return check


def _pg_check_alias(alias: str) -> dict[str, Any]:
    db = settings.DATABASES[alias]
    return _pg_query(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                     password=db["PASSWORD"], dbname=db["NAME"])


def _pg_query(**params: Any) -> dict[str, Any]:
    conn = psycopg2.connect(connect_timeout=CHECK_TIMEOUT_SECONDS, application_name="tessera-readyz",
                            **params)
    try:
        with conn.cursor() as cursor:
            cursor.execute(LAG_SQL)
            in_recovery, lag = cursor.fetchone()
    finally:
        conn.close()
    if not in_recovery:
        return {}
    if lag is None:
        # Answering but cut off from its primary: its data only gets staler.
        raise ReplicaDisconnected("no WAL receiver: the replica is not streaming from its primary")
    return {"replay_lag_seconds": round(float(lag), 3)}


class ReplicaDisconnected(Exception):
    """A replica answers queries but receives no WAL."""


def _redis_check() -> dict[str, Any]:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT_SECONDS,
                                  socket_connect_timeout=CHECK_TIMEOUT_SECONDS)
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _broker_check() -> dict[str, Any]:
    from core.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)
    return {}
