"""Which backups the retention policy lets go (pure logic; the sweep in tenants.backups acts on it).

`BACKUP_RETENTION` gives each plan `<days>:<count>`: a backup goes when it is
older than <days>, or when it is not among the <count> newest good backups of
its tenant. The newest good backup of a live tenant is always kept, whatever
its age, so a tenant that stopped being backed up never loses its last copy
to the sweep; a deleted tenant's backups all go by age (nothing of its data
is kept for ever).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True, slots=True)
class Retention:
    days: int
    count: int

    def expires(self, created_at: datetime) -> datetime:
        """Return when a backup taken at `created_at` becomes due for deletion by age."""
        return created_at + timedelta(days=self.days)


def parse_retention(text: str, plans: list[str]) -> dict[str, Retention]:
    """Parse `free=7:7,pro=30:30,...`; every plan in `plans` must be given."""
    policy: dict[str, Retention] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        plan, _, rule = entry.partition("=")
        days, _, count = rule.partition(":")
        if plan.strip() not in plans or not days.strip().isdigit() or not count.strip().isdigit():
            raise ImproperlyConfigured(f"BACKUP_RETENTION: bad entry {entry!r} (expected <plan>=<days>:<count>)")
        policy[plan.strip()] = Retention(int(days), int(count))
    missing = sorted(set(plans) - set(policy))
    if missing:
        raise ImproperlyConfigured(f"BACKUP_RETENTION: no rule for plan(s) {', '.join(missing)}")
    return policy


def expired(backups: list[tuple[int, datetime]], rule: Retention, now: datetime, *,
            keep_newest: bool = True) -> list[int]:
    """Return the ids of the good backups `(id, created_at)` of one tenant that `rule` lets go."""
    newest_first = sorted(backups, key=lambda item: item[1], reverse=True)
    kept = 1 if keep_newest else 0
    return [pk for rank, (pk, created) in enumerate(newest_first)
            if rank >= kept and (rank >= rule.count or rule.expires(created) <= now)]
