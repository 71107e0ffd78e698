"""Resolve a request's tenant from an in-process cache (zero control-DB queries when warm).

Active tenants and host -> slug answers are cached per process for
`TENANT_CACHE_TTL_SECONDS`. Any change to a tenant (status, domains) bumps a
generation counter in Redis; each process compares it at most every
`TENANT_CACHE_CHECK_SECONDS` and drops its cache when it moved. Tenants in
any other state than active are never cached, so a tenant finishing
provisioning serves at once. If Redis is down the TTL bounds staleness.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from routers.spec import TenantSpec
from tenants import selectors
from tenants.models import TenantStatus

GENERATION_KEY = "tenants:generation"


@dataclass(frozen=True, slots=True)
class ResolvedTenant:
    spec: TenantSpec
    status: str


_lock = threading.Lock()
_tenants: dict[str, tuple[float, ResolvedTenant]] = {}
_domains: dict[str, tuple[float, str | None]] = {}
_generation: list[object] = [None, 0.0]  # [value, checked at]


def lookup(slug: str) -> ResolvedTenant | None:
    """Return the tenant `slug` (cached while active), or None if unknown."""
    _check_generation()
    now = time.monotonic()
    hit = _tenants.get(slug)
    if hit and hit[0] > now:
        return hit[1]
    tenant = selectors.tenant_get(slug=slug)
    if tenant is None:
        return None
    resolved = ResolvedTenant(selectors.tenant_spec(tenant), tenant.status)
    if tenant.status == TenantStatus.ACTIVE:
        with _lock:
            _tenants[slug] = (now + settings.TENANT_CACHE_TTL_SECONDS, resolved)
    return resolved


def slug_for_host(host: str) -> str | None:
    """Return the slug a host name addresses: a custom domain, then `<slug>.<base>`."""
    now = time.monotonic()
    hit = _domains.get(host)
    if hit is None or hit[0] <= now:
        slug = selectors.tenant_slug_for_domain(domain=host)
        with _lock:
            _domains[host] = (now + settings.TENANT_CACHE_TTL_SECONDS, slug)
        hit = _domains[host]
    if hit[1]:
        return hit[1]
    suffix = "." + settings.TENANT_BASE_DOMAIN
    if host.endswith(suffix):
        label = host[: -len(suffix)]
        return label if label and "." not in label else None
    return None


def invalidate() -> None:
    """Drop this process's cache and tell every other process to drop theirs."""
    clear_local()
    if cache.add(GENERATION_KEY, 1, timeout=None) is False:
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:
            cache.set(GENERATION_KEY, 1, timeout=None)


def clear_local() -> None:
    with _lock:
        _tenants.clear()
        _domains.clear()


def _check_generation() -> None:
    now = time.monotonic()
    if now - float(_generation[1]) < settings.TENANT_CACHE_CHECK_SECONDS:  # type: ignore[arg-type]
        return
    current = cache.get(GENERATION_KEY)
    with _lock:
        if current != _generation[0]:
            _tenants.clear()
            _domains.clear()
            _generation[0] = current
        _generation[1] = now


def active_spec(slug: str) -> TenantSpec | None:
    """Return the spec of an active tenant (TENANT_SPEC_RESOLVER for Celery tasks)."""
    resolved = lookup(slug)
    return resolved.spec if resolved and resolved.status == TenantStatus.ACTIVE else None
