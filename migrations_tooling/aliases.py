"""A short-lived direct Django alias for one fleet target (Django's executor needs an alias)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from migrations_tooling.targets import Target, TargetKind
from routers import TenantSpec, drop_alias, ensure_registered, register_database, unregister


@contextlib.contextmanager
def direct_alias(target: Target) -> Iterator[str]:
    """Register a direct alias for `target`, yield it, then close and forget it (memory stays flat)."""
    if target.kind == TargetKind.TEMPLATE:
        alias = register_database(target.label, target.server, target.database)
        try:
            yield alias
        finally:
            drop_alias(alias)
        return
    spec = TenantSpec(target.label, target.server, target.database)
    ensure_registered(spec)
    try:
        yield spec.direct_alias
    finally:
        unregister(spec.slug)
