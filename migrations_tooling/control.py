"""The control plane in a fleet run: planned and linted with the fleet, migrated first, recorded like any database."""

from __future__ import annotations

from django.core.management import call_command

from core.aliases import CONTROL_ALIAS
from migrations_tooling.planning import Plan
from migrations_tooling.results import Attempt, DatabaseResult
from migrations_tooling.targets import CONTROL


def migrate_control(plan: Plan, *, to: tuple[str, str] | None = None, fake: bool = False) -> DatabaseResult:
    """Apply the control plane's `plan` (the one the run planned and linted, or migrate to `to`); report.

    Never raises: a failure is a failed result.
    """
    with Attempt(CONTROL) as attempt:
        if plan.migrations:
            call_command("migrate", *(to or ()), database=CONTROL_ALIAS, verbosity=0, interactive=False, fake=fake)
        attempt.applied = list(plan.migrations)
    return attempt.result()
