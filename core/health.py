"""Liveness (`/healthz`) and readiness (`/readyz`) endpoints.

Readiness checks every dependency concurrently with short timeouts over fresh
connections (so a broken pooled connection cannot hide an outage): the control
database and its replica, every tenant server's primary, replicas (with replay
lag) and poolers, Redis and the Celery broker. A run opens about ten
connections, so its result is kept for `READYZ_CACHE_SECONDS` and shared by
every caller in that time (concurrent callers wait for the one run in
progress): callers cannot turn the probe into load. Anyone gets the status;
only a platform admin's token (`Authorization: Token <key>`, a staff user of
the control plane) gets the per-check details, which name hosts and ports.
`/healthz` touches nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
from django.conf import settings
from django.db import Error as DatabaseDriverError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe
from psycopg2.extensions import connection as PgConnection
from rest_framework.authtoken.models import Token

from core.aliases import CONTROL_ALIAS, CONTROL_REPLICA_ALIAS
from core.celery import app
from core.dbservers import REPLICA_LAG_EXPR, Endpoint, ServerConfig, configured_servers
from core.pgconnect import connect_alias

CHECK_TIMEOUT_SECONDS = 2
APPLICATION_NAME = "tessera-readyz"
LAG_SQL = f"SELECT pg_is_in_recovery(), {REPLICA_LAG_EXPR}"

Check = Callable[[], dict[str, Any]]


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Return 200 while the process can answer at all."""
    return JsonResponse({"status": "ok"})


@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Return 200 when every dependency answers, else 503; the checks for platform admins only."""
    results = readiness.results()
    ready = all(result["ok"] for result in results.values())
    body: dict[str, Any] = {"status": "ready" if ready else "unavailable"}
    if _is_platform_admin(request):
        body["checks"] = results
    return JsonResponse(body, status=200 if ready else 503)


class Readiness:
    """The last readiness result of this process, reused for `READYZ_CACHE_SECONDS`."""

    _results: dict[str, dict[str, Any]] | None
    _at: float
    runs: int

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def results(self) -> dict[str, dict[str, Any]]:
        """Return fresh-enough results, running the checks (once, for all waiting callers) if needed."""
        with self._lock:
            if self._results is None or time.monotonic() - self._at >= settings.READYZ_CACHE_SECONDS:
                self._results, self._at = run_checks(), time.monotonic()
                self.runs += 1
            return self._results

    def reset(self) -> None:
        self._results = None
        self._at = 0.0
        self.runs = 0


readiness = Readiness()


def run_checks() -> dict[str, dict[str, Any]]:
    """Run every dependency check concurrently; return each one's result."""
    checks = _checks()
    with ThreadPoolExecutor(max_workers=min(8, len(checks))) as pool:
        futures = {name: pool.submit(_timed, check) for name, check in checks.items()}
        return {name: future.result() for name, future in futures.items()}


def _is_platform_admin(request: HttpRequest) -> bool:
    """Return True when the request carries the token of an active staff user of the control plane."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "token" or not key.strip():
        return False
    try:
        return Token.objects.using(CONTROL_ALIAS).filter(
            key=key.strip(), user__is_staff=True, user__is_active=True).exists()
    except DatabaseDriverError:  # the control plane is down: no details, the status still answers
        return False


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
        "control": lambda: _pg_check_alias(CONTROL_ALIAS),
        "control_replica": lambda: _pg_check_alias(CONTROL_REPLICA_ALIAS),
        "redis": _redis_check,
        "broker": _broker_check,
    }
    for server in configured_servers().values():
        checks[f"server:{server.name}:primary"] = _endpoint_check(server, server.primary)
        if server.pooler:
            checks[f"server:{server.name}:pooler"] = _endpoint_check(server, server.pooler)
        for i, replica in enumerate(server.replicas):
            checks[f"server:{server.name}:replica{i}"] = _endpoint_check(server, replica)
        for i, pooler in enumerate(server.replica_poolers):
            checks[f"server:{server.name}:replica{i}_pooler"] = _endpoint_check(server, pooler)
    return checks


def _endpoint_check(server: ServerConfig, endpoint: Endpoint) -> Check:
    def check() -> dict[str, Any]:
        return _pg_query(server.connect("postgres", endpoint=endpoint, application_name=APPLICATION_NAME,
                                        connect_timeout=CHECK_TIMEOUT_SECONDS))
    return check


def _pg_check_alias(alias: str) -> dict[str, Any]:
    return _pg_query(connect_alias(alias, application_name=APPLICATION_NAME, connect_timeout=CHECK_TIMEOUT_SECONDS))


def _pg_query(conn: PgConnection) -> dict[str, Any]:
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
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)
    return {}
