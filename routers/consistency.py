"""Read-your-writes: remember where this unit of work (request, task) wrote.

Two rules keep reads fresh:

* after a write to a database, later reads of that database in the same unit
  of work go to its primary (`wrote()`);
* the next unit of work of the same client carries a *read-after token*: the
  WAL position (`pg_current_wal_lsn()`) of each server it wrote to, captured
  after the write. A replica serves its reads only once it has replayed past
  that position. The token travels in a signed cookie and the
  `X-Tessera-Read-After` header for HTTP clients, and in task headers for Celery.

LSNs are positions in a server's (cluster's) WAL, so the token is keyed by
server name, not by database: every tenant on a server shares its WAL.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connections

# A read-after position no replica ever reaches: "read this server's primary" (see `pin_written`).
PRIMARY_PIN = (1 << 64) - 1
_TOKEN_PART = re.compile(r"^([a-z][a-z0-9_-]{0,30})@([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
MAX_TOKEN_PARTS = 16


@dataclass
class ReadState:
    """What one unit of work has to read after."""

    required: dict[str, int] = field(default_factory=dict)  # server -> LSN
    written: set[str] = field(default_factory=set)  # primary aliases written here
    replica_failed: bool = False
    primary_only: bool = False  # every read of this unit of work goes to primaries


_state: contextvars.ContextVar[ReadState | None] = contextvars.ContextVar("tessera_reads", default=None)


def lsn_to_int(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def int_to_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def parse_token(token: str | None) -> dict[str, int]:
    """Parse `server@LSN,server@LSN`; ignore anything malformed (it only costs freshness)."""
    required: dict[str, int] = {}
    for part in (token or "").split(",")[:MAX_TOKEN_PARTS]:
        match = _TOKEN_PART.match(part.strip())
        if match:
            server = match.group(1)
            required[server] = max(required.get(server, 0), lsn_to_int(f"{match.group(2)}/{match.group(3)}"))
    return required


def encode_token(required: dict[str, int]) -> str:
    return ",".join(f"{server}@{int_to_lsn(lsn)}" for server, lsn in sorted(required.items()))


def state() -> ReadState:
    """Return this context's state, creating one outside any scope (scripts, shells)."""
    current = _state.get()
    if current is None:
        current = ReadState()
        _state.set(current)
    return current


@contextmanager
def read_scope(token: str | None = None, *, primary_only: bool = False) -> Iterator[ReadState]:
    """Run a unit of work that must read after `token` (or only from primaries)."""
    scope = ReadState(required=parse_token(token), primary_only=primary_only)
    reset = _state.set(scope)
    try:
        yield scope
    finally:
        _state.reset(reset)


def note_write(alias: str) -> None:
    state().written.add(alias)


def wrote(alias: str) -> bool:
    """Return True when reads of `alias`'s database must use the primary (written, or primary-only scope)."""
    current = _state.get()
    return current is not None and (current.primary_only or alias in current.written)


def required_lsn(server: str) -> int:
    current = _state.get()
    return current.required.get(server, 0) if current else 0


def capture(server_of: dict[str, str]) -> str | None:
    """Record the current WAL position of every server written in this scope.

    `server_of` maps each written alias to its server name. Return the updated
    token, or None when nothing was written.
    """
    current = _state.get()
    if current is None or not current.written:
        return None
    for alias in sorted(current.written):
        server = server_of.get(alias)
        if server is None or alias not in connections.settings:
            continue
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            lsn = lsn_to_int(cursor.fetchone()[0])
        current.required[server] = max(current.required.get(server, 0), lsn)
    return encode_token(current.required)


def current_token() -> str:
    current = _state.get()
    return encode_token(current.required) if current else ""


def capture_current(server_of: Callable[[str], str | None]) -> str | None:
    """Capture the WAL positions this scope wrote to; `server_of` names an alias's server (the registry's)."""
    current = _state.get()
    if current is None or not current.written:
        return None
    servers = {}
    for alias in current.written:
        server = server_of(alias)
        if server is not None:
            servers[alias] = server
    return capture(servers)


def pin_written(server_of: Callable[[str], str | None]) -> str:
    """Pin every server written in this scope to its primary; return the token.

    The fallback when the WAL position cannot be read after a commit (the
    pooler or the server went away): the write is committed, so the answer
    must not become an error, and the client's next reads must not miss it.
    `server_of` names an alias's server, as for `capture_current`.
    """
    current = state()
    for alias in current.written:
        server = server_of(alias)
        if server is not None:
            current.required[server] = PRIMARY_PIN
    return encode_token(current.required)
