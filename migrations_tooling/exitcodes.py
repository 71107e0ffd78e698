"""Exit codes of `migrate_tenants`, one per outcome a script may branch on (docs/migrations.md)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    DONE = 0  # everything done (or nothing to do)
    FAILED = 1  # some database failed (resume the run)
    USAGE = 2  # bad arguments: unknown slug, conflicting options
    REFUSED = 3  # refused by the migration linter (--allow-unsafe to override)
    LOCKED = 4  # another run holds the fleet lock
    DRIFT = 5  # drift found: --check-drift, --check with pending work, or a run refused on unknown migrations
