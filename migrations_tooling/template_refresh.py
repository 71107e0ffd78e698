"""Refresh each server's template like a tenant: apply only its pending migrations.

A template is migrated in place, under the server's template lock (so
provisioning never clones a half-migrated one and waits, then finds it
current), and then stamped with the code's fingerprint. It is rebuilt from
scratch only when missing or when it holds migrations the code does not know.
"""

from __future__ import annotations

import time
from typing import Any

from migrations_tooling.apply import migrate_database
from migrations_tooling.plans import PlanBook
from migrations_tooling.state import Target, applied_migrations, compare, ordered_expected
from tenants import templates


def refresh_template(target: Target, plans: PlanBook, *, rebuild: bool = False,
                     applied: frozenset[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Bring `target` (a template) to the expected migrations; report like a database (never raises)."""
    started = time.perf_counter()
    result: dict[str, Any] = {"label": target.label, "applied": [], "attempts": 1, "status": "done"}
    try:
        if not rebuild:
            with templates.template_lock(target.server):
                if not templates.is_current(target.server):
                    result = migrate_database(target, plans, applied)
                    rebuild = result["status"] == "done" and not _exact(target)
        if rebuild and templates.ensure_template(target.server):
            result["applied"] = ["(rebuilt from scratch)"]
    except Exception as exc:
        result.update(status="failed", error=f"{type(exc).__name__}: {str(exc).strip()}"[:4000])
    result["duration_ms"] = int((time.perf_counter() - started) * 1000)
    return result


def _exact(target: Target) -> bool:
    """Stamp the template current if it holds exactly the expected migrations; say whether it did."""
    order = ordered_expected()
    state = compare(target, applied_migrations(target), order, {app for app, _ in order})
    if state.pending or state.unknown:
        return False
    templates.mark_current(target.server)
    return True
