"""Per-tenant, per-day usage: counted in the process, summed in Redis, flushed to TenantUsageDay by beat.

Each tenant request adds its counts to the process's buffer (`usage_count`,
`tenants.usage_buffer`): requests, write requests, and what the product
noted through `core.metering.usage_note` (e.g. exports), and the user. Once
a period (`USAGE_BUFFER_SECONDS`) a thread sends them all in one MULTI/EXEC
round trip: counters in a hash per tenant and day, the users in a
HyperLogLog (distinct users that day), the tenant id in the day's set of
tenants to flush. When Redis does not answer, requests go on and the counts
wait in the buffer; Redis is left alone for `USAGE_REDIS_RETRY_SECONDS`.

`usage_flush` (the `tenants.usage_flush` beat task) takes each hash with a
Lua script that reads and deletes it atomically, then adds the counts to
the day's row in one upsert: two flushes, concurrent or in a row, each take
disjoint counts and lose nothing. The HyperLogLog is never taken: the row
keeps the largest count seen that day, so re-reading it is idempotent.
The flush also samples `pg_database_size` of every live tenant database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

import psycopg2
import redis
from django.conf import settings
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from core.aliases import CONTROL_ALIAS
from core.metering import dropped, request_meter
from routers import TenantSpec
from tenants import dbops
from tenants.models import Tenant, TenantStatus
from tenants.usage_buffer import Key, Tally, UsageBuffer, install_fork_hook

logger = logging.getLogger("tessera.usage")
PREFIX = "tessera:usage"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
COUNTERS = ("requests", "write_requests", "exports")
FLUSH_DAYS = 3  # today and the two days before: a flush that stalled over midnight still finds its keys
TAKE = "local v = redis.call('HGETALL', KEYS[1]); redis.call('DEL', KEYS[1]); return v"


class _Client:
    """The metering Redis client and its pause after a failure (one owner, one `reset()`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._url = ""
        self._client: redis.Redis | None = None
        self.paused_until = 0.0

    def get(self) -> redis.Redis:
        url = settings.USAGE_REDIS_URL or settings.REDIS_URL
        with self._lock:
            if self._client is None or url != self._url:  # first use, or the setting changed (tests)
                timeout = settings.USAGE_REDIS_TIMEOUT_SECONDS
                self._url, self._client = url, redis.Redis.from_url(
                    url, socket_connect_timeout=timeout, socket_timeout=timeout)
            return self._client

    def reset(self) -> None:
        with self._lock:
            self._client, self.paused_until = None, 0.0


client = _Client()


def _key(day: date, tenant_id: int, suffix: str = "") -> str:
    return f"{PREFIX}:{day.isoformat()}:{tenant_id}{suffix}"


def usage_count(*, tenant_id: int, write: bool, user_id: int | None, extra: dict[str, int]) -> bool:
    """Count one request of `tenant_id` in this process's buffer (sent to Redis by its thread, or at
    once when `USAGE_BUFFER_SECONDS` is 0); return False when it was dropped (the buffer is full)."""
    if not buffer.add((timezone.now().date(), tenant_id), write=write, user_id=user_id, extra=extra):
        dropped.incr("usage")
        return False
    if float(settings.USAGE_BUFFER_SECONDS) <= 0:
        buffer.send()
    return True


def _send(batch: dict[Key, Tally]) -> bool:
    """Add a batch of counts to Redis in one MULTI/EXEC round trip; return False (logged) when it failed.

    All or nothing, so a batch merged back after a failure is never counted twice.
    """
    if time.monotonic() < client.paused_until:
        return False  # Redis failed a moment ago: the counts wait in the buffer
    ttl = settings.USAGE_KEY_TTL_SECONDS
    pipe = client.get().pipeline(transaction=True)
    days: dict[date, list[str]] = {}
    for (day, tenant_id), tally in batch.items():
        counters = _key(day, tenant_id)
        for measure, amount in tally.counters.items():
            pipe.hincrby(counters, measure, amount)
        pipe.expire(counters, ttl)
        if tally.users:
            users = _key(day, tenant_id, ":users")
            pipe.pfadd(users, *map(str, sorted(tally.users)))
            pipe.expire(users, ttl)
        days.setdefault(day, []).append(str(tenant_id))
    for day, tenant_ids in days.items():  # the day's set of tenants to flush: once per day, not per tenant
        pipe.sadd(f"{PREFIX}:{day}:tenants", *tenant_ids)
        pipe.expire(f"{PREFIX}:{day}:tenants", ttl)
    try:
        pipe.execute()
    except (redis.RedisError, OSError) as exc:
        client.paused_until = time.monotonic() + settings.USAGE_REDIS_RETRY_SECONDS
        logger.warning("usage of %s tenant-days kept for later (Redis: %s)", len(batch), exc)
        return False
    return True


buffer = UsageBuffer(_send)
install_fork_hook(buffer)


def _user_id(request: HttpRequest) -> int | None:
    """Return the id of the user the view authenticated, without authenticating anyone here."""
    user: Any = request.__dict__.get("user")  # DRF puts its user here; Django's stays lazy
    if isinstance(user, SimpleLazyObject):
        user = user.__dict__.get("_wrapped")  # not evaluated: `empty`, which is nobody
    return user.pk if getattr(user, "is_authenticated", False) is True else None


class UsageMiddleware:
    """Count every request served inside a tenant (after TenantMiddleware, which sets `request.tenant`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        spec: TenantSpec | None = getattr(request, "tenant", None)
        if spec is None or spec.tenant_id is None or not settings.USAGE_METERING_ENABLED:
            return self.get_response(request)
        with request_meter() as meter:
            response = self.get_response(request)
        usage_count(tenant_id=spec.tenant_id, write=request.method in WRITE_METHODS,
                    user_id=_user_id(request), extra=meter)
        return response


# --- Flush ------------------------------------------------------------------------------

UPSERT = """
INSERT INTO tenants_tenantusageday AS u (tenant_id, day, requests, write_requests, exports, active_users,
                                         database_bytes, updated_at)
SELECT t.id, %(day)s, %(requests)s, %(write_requests)s, %(exports)s, %(active_users)s, %(database_bytes)s, now()
FROM tenants_tenant t WHERE t.id = %(tenant)s
ON CONFLICT (tenant_id, day) DO UPDATE SET
    requests = u.requests + EXCLUDED.requests,
    write_requests = u.write_requests + EXCLUDED.write_requests,
    exports = u.exports + EXCLUDED.exports,
    active_users = GREATEST(u.active_users, EXCLUDED.active_users),
    database_bytes = COALESCE(EXCLUDED.database_bytes, u.database_bytes),
    updated_at = now()
"""


def _upsert(*, tenant: int, day: date, counts: dict[str, int], active_users: int = 0,
            database_bytes: int | None = None) -> None:
    values = {measure: counts.get(measure, 0) for measure in COUNTERS}
    with connections[CONTROL_ALIAS].cursor() as cursor:
        cursor.execute(UPSERT, {**values, "tenant": tenant, "day": day, "active_users": active_users,
                                "database_bytes": database_bytes})


def _take(conn: redis.Redis, key: str) -> dict[str, int]:
    flat: Any = conn.eval(TAKE, 1, key)
    return {flat[i].decode(): int(flat[i + 1]) for i in range(0, len(flat), 2)}


def _put_back(conn: redis.Redis, key: str, counts: dict[str, int]) -> None:
    pipe = conn.pipeline(transaction=False)
    for measure, amount in counts.items():
        pipe.hincrby(key, measure, amount)
    pipe.execute()


def _flush_one(conn: redis.Redis, day: date, tenant: int) -> None:
    """Move one tenant's counts of `day` from Redis to its row; on a database error give them back."""
    key = _key(day, tenant)
    counts = _take(conn, key)
    active = int(conn.pfcount(_key(day, tenant, ":users")))
    try:
        with transaction.atomic(using=CONTROL_ALIAS):
            _upsert(tenant=tenant, day=day, counts=counts, active_users=active)
    except Exception:
        _put_back(conn, key, counts)
        raise


def usage_flush(*, today: date | None = None) -> dict[str, int]:
    """Flush the Redis counters of the last FLUSH_DAYS days and sample database sizes; return counts."""
    today = today or timezone.now().date()
    buffer.send()  # this process's own counts first (the worker's are none; a test's or a shell's may be)
    conn, flushed = client.get(), 0
    for day in (today - timedelta(days=back) for back in range(FLUSH_DAYS)):
        for raw in conn.smembers(f"{PREFIX}:{day}:tenants"):
            _flush_one(conn, day, int(raw))
            flushed += 1
    return {"flushed": flushed, "sized": database_sizes_sample(day=today)}


def database_sizes_sample(*, day: date) -> int:
    """Record `pg_database_size` of every live tenant database on `day`'s rows; return how many."""
    live = Tenant.objects.using(CONTROL_ALIAS).filter(status__in=(TenantStatus.ACTIVE, TenantStatus.SUSPENDED))
    by_server: dict[str, dict[str, int]] = {}
    for tenant in live.only("pk", "server_id", "database"):
        by_server.setdefault(str(tenant.server_id), {})[tenant.database] = tenant.pk
    sized = 0
    for server, databases in by_server.items():
        for database, size in _sizes(server, databases):
            _upsert(tenant=databases[database], day=day, counts={}, database_bytes=size)
            sized += 1
    return sized


def _sizes(server: str, databases: Iterable[str]) -> list[tuple[str, int]]:
    try:
        with dbops.server_connection(server) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT datname, pg_database_size(datname) FROM pg_database WHERE datname = ANY(%s)",
                           [list(databases)])
            return [(name, int(size)) for name, size in cursor.fetchall()]
    except (psycopg2.Error, OSError) as exc:  # one server down must not stop the flush of the others
        logger.warning("database sizes of server %s not sampled: %s", server, exc)
        return []
