"""The one registry of PostgreSQL advisory-lock keys.

Every advisory lock Tessera takes uses the two-key form `(purpose, n)`: the
first key says what the lock is for, the second which one (a job id, or 0).
Purposes get distinct first keys here and nowhere else, so two locks of
different purposes can never collide, even on the same database (the fleet
run lock and provisioning job 1's lock once shared `(0x7E5, 1)`).
`tests/core/test_locks.py` checks the keys are distinct and that no module
takes an advisory lock without this registry.
"""

from __future__ import annotations

from enum import IntEnum, unique


@unique
class LockPurpose(IntEnum):
    """What an advisory lock protects, and on which database it is taken."""

    PROVISIONING_JOB = 0x7E51  # control database; n = the job id: one run of a job at a time
    FLEET_RUN = 0x7E52  # control database; n = 0: one migrate_tenants run at a time
    TEMPLATE_REBUILD = 0x7E53  # a server's maintenance database; n = 0: one template rebuild at a time
    TENANT_MIGRATION = 0x7E54  # each tenant (or template) database; n = 0: one migration at a time
    TENANT_QUOTA = 0x7E55  # each tenant database; n = the quota: one count-then-create at a time


def lock_key(purpose: LockPurpose, n: int = 0) -> tuple[int, int]:
    """Return the `(key1, key2)` pair for `pg_advisory_lock(key1, key2)`."""
    return (int(purpose), int(n))
