"""What migrating one database produced: a typed result, made by one timing context.

    with Attempt(target.label) as attempt:
        attempt.applied = migrate(...)
    return attempt.result()

`Attempt` times the block and turns an exception raised in it into a failed
result (the error text kept, bounded), so every way of migrating a database
(tenant, template, control plane) reports the same shape and a fleet run is
never stopped by one database's exception.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any

MAX_ERROR = 4000  # characters of an error kept in the ledger


class Outcome(StrEnum):
    """How migrating one database ended (the ledger's record status for it)."""

    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class DatabaseResult:
    """The outcome of migrating one database: what was applied, how long it took, why it failed."""

    label: str
    outcome: Outcome
    applied: tuple[str, ...] = ()
    attempts: int = 1
    duration_ms: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.DONE

    def as_event(self) -> dict[str, Any]:
        """Return the result as a progress event's fields (JSON-ready)."""
        return {"label": self.label, "status": str(self.outcome), "applied": list(self.applied),
                "attempts": self.attempts, "duration_ms": self.duration_ms, "error": self.error}


def error_text(exc: BaseException) -> str:
    """Return how the ledger names an exception: its type and message, bounded."""
    return f"{type(exc).__name__}: {str(exc).strip()}"[:MAX_ERROR]


@dataclass
class Attempt:
    """Time a block that migrates one database and build its `DatabaseResult`.

    An `Exception` raised in the block is recorded (the block's `applied` is
    discarded: a failed database applied nothing it reports) and swallowed.
    """

    label: str
    applied: list[str] = field(default_factory=list)
    attempts: int = 1
    _started: float = 0.0
    _result: DatabaseResult | None = None

    def __enter__(self) -> Attempt:
        self._started = time.perf_counter()
        return self

    def __exit__(self, _type: type[BaseException] | None, exc: BaseException | None,
                 _traceback: TracebackType | None) -> bool:
        elapsed = int((time.perf_counter() - self._started) * 1000)
        if exc is not None and not isinstance(exc, Exception):
            return False  # KeyboardInterrupt, SystemExit: not a database's failure
        if exc is None:
            self._result = DatabaseResult(self.label, Outcome.DONE, tuple(self.applied), self.attempts, elapsed)
        else:
            self._result = DatabaseResult(self.label, Outcome.FAILED, (), self.attempts, elapsed, error_text(exc))
        return True

    def result(self) -> DatabaseResult:
        """Return the result of the finished block."""
        if self._result is None:
            raise RuntimeError("Attempt.result() called before the block finished")
        return self._result
