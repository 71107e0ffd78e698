"""The current tenant: a context variable behind a tiny API.

A `contextvars.ContextVar` follows the code that set it: each thread, each
asyncio task and each Celery task has its own value, and nothing is stored on
connection objects or thread-locals (state on the connection breaks under
async code and transaction-pooling proxies).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from core.logging import tenant_slug_var
from routers.exceptions import TenantContextMissing
from routers.registry import fresh
from routers.runtime import runtime
from routers.spec import TenantSpec

_current: contextvars.ContextVar[TenantSpec | None] = contextvars.ContextVar(
    "tessera_tenant", default=None
)


@contextmanager
def tenant_context(spec: TenantSpec) -> Iterator[TenantSpec]:
    """Run the block with `spec` as the current tenant, restoring the previous one after."""
    if not isinstance(spec, TenantSpec):
        raise TypeError("tenant_context() takes a routers.TenantSpec")
    runtime.enter(spec)
    token = _current.set(spec)
    log_token = tenant_slug_var.set(spec.slug)
    try:
        yield spec
    finally:
        runtime.leave(spec)
        tenant_slug_var.reset(log_token)
        _current.reset(token)


def current_tenant() -> TenantSpec:
    """Return the current tenant or raise TenantContextMissing."""
    spec = _current.get()
    if spec is None:
        raise TenantContextMissing()
    return spec


def current_tenant_or_none() -> TenantSpec | None:
    """Return the current tenant, or None outside any tenant context."""
    return _current.get()


def current_alias() -> str:
    """Return the alias of the current tenant's primary database (raise if no tenant).

    `TENANT_SINGLE_DATABASE_ALIAS` (benchmarks of single-database stacks only)
    names one alias for every caller instead, tenant or not.
    """
    single = settings.TENANT_SINGLE_DATABASE_ALIAS
    if single:
        return str(single)
    return fresh(current_tenant().alias)
