"""Usage counts of this process, sent to Redis together at most every `USAGE_BUFFER_SECONDS`.

Counting a request in Redis as it is answered cost every tenant request a
pipelined round trip (redis-py packing and parsing eight commands, and a
wake-up of Redis) for counters nobody reads before the next flush. The
buffer keeps the counts per UTC day and tenant in the process instead (a
dict update under a lock), and a daemon thread sends all of them in one
`MULTI`/`EXEC` pipeline once a period, whatever the number of requests.

What it costs: a process that dies without exiting (SIGKILL, OOM) loses at
most the counts of its last period; a graceful exit (a gunicorn worker
recycled or stopped, a Celery worker shut down) sends them first (`atexit`).
What it gains beyond speed: counts that could not be sent (Redis down) stay
in the buffer and go with the next period's, instead of being dropped; only
past `USAGE_BUFFER_MAX_KEYS` distinct tenant-days waiting is a count dropped
(and counted in `core.metering.dropped["usage"]`). `USAGE_BUFFER_SECONDS`
0 sends each request's counts at once, as before the buffer.

A forked child starts with an empty buffer and no thread (the parent's
counts are the parent's to send).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings

logger = logging.getLogger("tessera.usage")
Key = tuple[date, int]  # (UTC day, tenant id)


@dataclass
class Tally:
    """One tenant's unsent counts of one day: counters and the ids of the users seen."""

    counters: Counter[str] = field(default_factory=Counter)
    users: set[int] = field(default_factory=set)

    def merge(self, other: Tally) -> None:
        self.counters.update(other.counters)
        self.users |= other.users


Sender = Callable[[dict[Key, Tally]], bool]  # True when Redis took the whole batch


class UsageBuffer:
    """The process's unsent usage counts and the thread that sends them (one owner, one `reset()`)."""

    def __init__(self, send: Sender) -> None:
        self._send = send
        self._exit_hook = False
        self._fresh_state()

    def _fresh_state(self) -> None:
        self._lock = threading.Lock()
        self._sending = threading.Lock()  # one batch in flight at a time: a failed one is merged back
        self._tallies: dict[Key, Tally] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def add(self, key: Key, *, write: bool, user_id: int | None, extra: dict[str, int]) -> bool:
        """Count one request of `key`'s tenant and day; return False when the buffer is full (dropped)."""
        with self._lock:
            tally = self._tallies.get(key)
            if tally is None:
                if len(self._tallies) >= int(settings.USAGE_BUFFER_MAX_KEYS):
                    return False
                tally = self._tallies[key] = Tally()
            tally.counters["requests"] += 1
            if write:
                tally.counters["write_requests"] += 1
            tally.counters.update(extra)
            if user_id is not None:
                tally.users.add(user_id)
            self._start_locked()
        return True

    def send(self) -> bool:
        """Send every buffered count now in one batch; on failure keep them. Return True when sent."""
        with self._sending:
            with self._lock:
                batch, self._tallies = self._tallies, {}
            if not batch:
                return True
            try:
                sent = self._send(batch)
            except BaseException:
                self._merge_back(batch)
                raise
            if not sent:
                self._merge_back(batch)
            return sent

    def _merge_back(self, batch: dict[Key, Tally]) -> None:
        with self._lock:  # counted meanwhile, plus the batch that did not go
            for key, tally in batch.items():
                self._tallies.setdefault(key, Tally()).merge(tally)

    def pending(self) -> int:
        """Return how many tenant-days wait to be sent (read-only)."""
        with self._lock:
            return len(self._tallies)

    def reset(self) -> None:
        """Forget every unsent count and stop the thread (tests)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread() and thread.is_alive():
            thread.join(timeout=5)
        with self._lock:
            self._tallies.clear()
        self._stop = threading.Event()

    def _start_locked(self) -> None:
        if self._thread is not None or float(settings.USAGE_BUFFER_SECONDS) <= 0:
            return  # running already, or every request sends its own counts (`usage_count`)
        if not self._exit_hook:
            atexit.register(self._send_at_exit)
            self._exit_hook = True
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name="tessera-usage-sender",
                                        daemon=True)
        self._thread.start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(max(0.01, float(settings.USAGE_BUFFER_SECONDS))):
            try:
                self.send()
            except Exception:  # the thread must outlive any surprise; the counts stay buffered
                logger.exception("sending buffered usage counts failed")

    def _send_at_exit(self) -> None:
        try:
            if not self.send():
                logger.warning("usage counts of %s tenant-days lost at exit (Redis unreachable)", self.pending())
        except Exception:  # interpreter shutdown: never turn an exit into a traceback
            logger.exception("sending usage counts at exit failed")

    def after_fork_in_child(self) -> None:
        """Start the child empty: the parent's counts, lock state and thread are not the child's."""
        self._fresh_state()


def install_fork_hook(buffer: UsageBuffer) -> None:
    """Empty `buffer` in every forked child (gunicorn and Celery fork their workers)."""
    os.register_at_fork(after_in_child=buffer.after_fork_in_child)
