"""Choose a replica for a read, or fall back to the primary.

A replica serves a read only when it is healthy (not failed recently: a
circuit breaker keeps it out for `REPLICA_RETRY_SECONDS` after an error),
lags less than `REPLICA_MAX_LAG_SECONDS`, and has replayed past the reader's
read-after position. Its replayed LSN and lag are read with one cheap query
and cached for `REPLICA_LSN_CACHE_SECONDS`, per replica of a server: every
tenant on the server shares the answer.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg2
from django.conf import settings
from django.db import DatabaseError, connections

from routers import budget, consistency, probes
from routers.spec import is_tenant_alias

logger = logging.getLogger("tessera.replicas")

_lock = threading.Lock()
_status: dict[tuple[str, int], ReplicaStatus] = {}
_counter = 0


@dataclass
class ReplicaStatus:
    replay_lsn: int = 0
    lag_seconds: float = 0.0
    checked_at: float = 0.0
    failed_until: float = 0.0


def probe(server: str, index: int) -> ReplicaStatus | None:
    """Refresh replica `index` of `server`; None if another thread is probing it, or it failed."""
    try:
        replay_lsn, lag_seconds = probes.measure(server, index)
    except probes.ProbeBusy:
        return None
    except psycopg2.Error as exc:
        mark_failed(server, index, None, exc)
        return None
    return record(server, index, replay_lsn, lag_seconds)


def read_alias(primary: str, replicas: list[str], server: str) -> str:
    """Return the alias that should serve a read of `primary`'s database now."""
    if not replicas or _must_use_primary(primary):
        return primary
    required = consistency.required_lsn(server)
    if required >= consistency.PRIMARY_PIN:  # the client's last write has no known position
        return primary
    for index, alias in _rotation(replicas):
        if _usable(server, index, required) and _connected(server, index, alias):
            return alias
    return primary


def _must_use_primary(primary: str) -> bool:
    if consistency.wrote(primary):
        return True
    wrapper = connections[primary]
    return wrapper.in_atomic_block


def _rotation(replicas: list[str]) -> list[tuple[int, str]]:
    global _counter
    if len(replicas) == 1:
        return [(0, replicas[0])]
    _counter += 1
    start = _counter % len(replicas)
    ordered = list(enumerate(replicas))
    return ordered[start:] + ordered[:start]


def _usable(server: str, index: int, required: int) -> bool:
    now = time.monotonic()
    status = _status.get((server, index))
    if status and status.failed_until > now:
        return False
    stale = status is None or now - status.checked_at > settings.REPLICA_LSN_CACHE_SECONDS
    behind = status is not None and status.replay_lsn < required
    if stale or behind:
        status = probe(server, index) or _status.get((server, index))
    if status is None or status.failed_until > now:
        return False
    return status.lag_seconds <= settings.REPLICA_MAX_LAG_SECONDS and status.replay_lsn >= required


def _connected(server: str, index: int, alias: str) -> bool:
    """Open this thread's connection to the replica now, so a failure routes to the primary."""
    wrapper = connections[alias]
    # Run Django's per-request health check here: a dead connection closed later, in cursor(),
    # would reconnect outside this guard and a failing replica would answer 500.
    wrapper.close_if_health_check_failed()
    if wrapper.connection is not None:
        return True
    if is_tenant_alias(alias):
        budget.touch(alias)  # make room before opening a connection
    try:
        wrapper.ensure_connection()
    except DatabaseError as exc:
        if "does not exist" in str(exc):
            # A database created moments ago has not reached the replica yet:
            # read this one from the primary, the replica itself is fine.
            return False
        mark_failed(server, index, alias, exc)
        return False
    return True


def record(server: str, index: int, replay_lsn: int, lag_seconds: float) -> ReplicaStatus:
    status = ReplicaStatus(replay_lsn=replay_lsn, lag_seconds=lag_seconds, checked_at=time.monotonic())
    with _lock:
        _status[(server, index)] = status
    return status


def mark_failed(server: str, index: int, alias: str | None, exc: BaseException) -> None:
    """Keep replica `index` of `server` out of rotation for REPLICA_RETRY_SECONDS."""
    until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
    with _lock:
        previous = _status.get((server, index))
        _status[(server, index)] = ReplicaStatus(failed_until=until)
    if previous is None or previous.failed_until == 0.0:
        logger.warning("replica %s of server %s failed, reads go to the primary: %s", index, server,
                       str(exc).strip()[:200])
    if alias is not None:
        _close_quietly(connections[alias])
    state = consistency._state.get()
    if state is not None:
        state.replica_failed = True


def _close_quietly(wrapper: Any) -> None:
    try:
        wrapper.close()
    except DatabaseError:
        wrapper.connection = None


def reset() -> None:
    """Forget every replica's status (tests, and after an operator fixes a replica)."""
    with _lock:
        _status.clear()


def snapshot() -> dict[str, dict[str, float]]:
    with _lock:
        return {f"{s}:{i}": vars(st).copy() for (s, i), st in _status.items()}
