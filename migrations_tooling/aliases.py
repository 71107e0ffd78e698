"""A short-lived direct Django alias for one fleet target (Django's executor needs an alias)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from migrations_tooling.targets import Target, TargetKind
from routers import registry
from routers.spec import TenantSpec


@contextlib.contextmanager
def direct_alias(target: Target) -> Iterator[str]:
    """Register a direct alias for `target`, yield it, then close and forget it (memory stays flat)."""
    if target.kind == TargetKind.TEMPLATE:
        alias = registry.register_database(target.label, target.server, target.database)
        try:
            yield alias
        finally:
            registry.drop_alias(alias)
        return
    spec = TenantSpec(target.label, target.server, target.database)
    registry.ensure_registered(spec)
    try:
        yield spec.direct_alias
    finally:
        registry.unregister(spec.slug)
