"""Choose a replica for a read, or fall back to the primary.

A replica serves a read only when it is healthy (not failed recently: a
circuit breaker keeps it out for `REPLICA_RETRY_SECONDS` after an error),
lags less than `REPLICA_MAX_LAG_SECONDS`, and has replayed past the reader's
read-after position. Its replayed LSN and lag are read with one cheap query
(`routers.probes`) and cached for `REPLICA_LSN_CACHE_SECONDS`, per replica of
a server: every tenant on the server shares the answer. The state lives in
`ReplicaHealth`, owned by `routers.runtime.runtime`.

`choose()` is the one place a read is routed: it returns the alias and the
`ReadDecision` (primary, replica, pinned to the primary), for whoever counts them.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections

from routers import consistency
from routers.probes import Probes

logger = logging.getLogger("tessera.replicas")


class ReadDecision(enum.StrEnum):
    """Why a read went where it went."""

    PRIMARY = "primary"  # no replica usable (none, unhealthy, lagging, behind the reader)
    REPLICA = "replica"
    PINNED = "pinned"  # this unit of work wrote here, is in a transaction, or must read primaries


@dataclass
class ReplicaStatus:
    replay_lsn: int = 0
    lag_seconds: float = 0.0
    checked_at: float = 0.0
    failed_until: float = 0.0


class ReplicaHealth:
    """The last known status of every replica of every server, and the rotation between them."""

    def __init__(self, probes: Probes) -> None:
        self._probes = probes  # the runtime's: reads replicas, leaves recording the answers to us
        self._lock = threading.Lock()
        self._status: dict[tuple[str, int], ReplicaStatus] = {}
        self._counter = 0

    def choose(self, primary: str, replicas: list[str], server: str) -> tuple[str, ReadDecision]:
        """Return the alias that should serve a read of `primary`'s database now, and why."""
        if not replicas:
            return primary, ReadDecision.PRIMARY
        if _must_use_primary(primary):
            return primary, ReadDecision.PINNED
        required = consistency.required_lsn(server)
        if required >= consistency.PRIMARY_PIN:  # the client's last write has no known position
            return primary, ReadDecision.PINNED
        for index, alias in self._rotation(replicas):
            if self._usable(server, index, required) and self._connected(server, index, alias):
                return alias, ReadDecision.REPLICA
        return primary, ReadDecision.PRIMARY

    def _rotation(self, replicas: list[str]) -> list[tuple[int, str]]:
        if len(replicas) == 1:
            return [(0, replicas[0])]
        self._counter += 1
        start = self._counter % len(replicas)
        ordered = list(enumerate(replicas))
        return ordered[start:] + ordered[:start]

    def _usable(self, server: str, index: int, required: int) -> bool:
        now = time.monotonic()
        status = self._status.get((server, index))
        if status and status.failed_until > now:
            return False
        stale = status is None or now - status.checked_at > settings.REPLICA_LSN_CACHE_SECONDS
        behind = status is not None and status.replay_lsn < required
        if stale or behind:
            status = self.refresh(server, index) or self._status.get((server, index))
        if status is None or status.failed_until > now:
            return False
        return status.lag_seconds <= settings.REPLICA_MAX_LAG_SECONDS and status.replay_lsn >= required

    def refresh(self, server: str, index: int) -> ReplicaStatus | None:
        """Probe replica `index` of `server` and record the answer; None if another thread is probing it."""
        try:
            reading = self._probes.read(server, index)
        except DatabaseError as exc:
            self.mark_failed(server, index, None, exc)
            return None
        if reading is None:
            return None
        return self.record(server, index, reading.replay_lsn, reading.lag_seconds)

    def _connected(self, server: str, index: int, alias: str) -> bool:
        """Open this thread's connection to the replica now, so a failure routes to the primary."""
        wrapper = connections[alias]
        # Run Django's per-request health check here: a dead connection closed later, in cursor(),
        # would reconnect outside this guard and a failing replica would answer 500.
        wrapper.close_if_health_check_failed()
        if wrapper.connection is not None:
            return True
        try:
            wrapper.ensure_connection()  # the tenant backend makes room in the budget first
        except DatabaseError as exc:
            if "does not exist" in str(exc):
                # A database created moments ago has not reached the replica yet:
                # read this one from the primary, the replica itself is fine.
                return False
            self.mark_failed(server, index, alias, exc)
            return False
        return True

    def record(self, server: str, index: int, replay_lsn: int, lag_seconds: float) -> ReplicaStatus:
        status = ReplicaStatus(replay_lsn=replay_lsn, lag_seconds=lag_seconds, checked_at=time.monotonic())
        with self._lock:
            self._status[(server, index)] = status
        return status

    def mark_failed(self, server: str, index: int, alias: str | None, exc: BaseException) -> None:
        """Keep replica `index` of `server` out of rotation for REPLICA_RETRY_SECONDS."""
        until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
        with self._lock:
            previous = self._status.get((server, index))
            self._status[(server, index)] = ReplicaStatus(failed_until=until)
        if previous is None or previous.failed_until == 0.0:
            logger.warning("replica %s of server %s failed, reads go to the primary: %s", index, server,
                           str(exc).strip()[:200])
        if alias is not None:
            _close_quietly(connections[alias])
        state = consistency._state.get()
        if state is not None:
            state.replica_failed = True

    def reset(self) -> None:
        """Forget every replica's status (tests, and after an operator fixes a replica)."""
        with self._lock:
            self._status.clear()

    def snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {f"{s}:{i}": vars(st).copy() for (s, i), st in self._status.items()}


def _must_use_primary(primary: str) -> bool:
    if consistency.wrote(primary):
        return True
    return bool(connections[primary].in_atomic_block)


def _close_quietly(wrapper: Any) -> None:
    discard = getattr(wrapper, "discard_connection", wrapper.close)  # never back into the shared pool
    try:
        discard()
    except DatabaseError:
        wrapper.connection = None

