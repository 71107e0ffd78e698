"""Resolve a request's tenant from an in-process cache (zero control-DB queries when warm).

Active tenants (with their CORS origins) and host -> slug answers are cached per process for
`TENANT_CACHE_TTL_SECONDS`. Any change to a tenant (status, domains) bumps a
generation counter in Redis; each process compares it at most every
`TENANT_CACHE_CHECK_SECONDS` and drops its cache when it moved. Tenants in
any other state than active are never cached, so a tenant finishing
provisioning serves at once; a tenant the control replica reports missing
or not active is confirmed on the control primary before the request is
refused (the replica may not have replayed the activation yet). The
host -> slug answers are a bounded LRU (`TENANT_HOST_CACHE_MAX`): host names
come from clients. Unknown slugs are remembered for
`TENANT_NEGATIVE_CACHE_SECONDS` (so a stream of requests for a missing tenant
does not query the control plane each time); creating a tenant invalidates.
If Redis is down the TTLs bound staleness.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http.request import split_domain_port

from routers import TenantSpec
from tenants import cors, selectors
from tenants.models import TenantStatus

GENERATION_KEY = "tenants:generation"
MISSING_MAX = 10_000  # bound the negative cache: slugs come from clients


@dataclass(frozen=True, slots=True)
class ResolvedTenant:
    spec: TenantSpec
    status: str
    cors_origins: frozenset[str] = frozenset()  # browser origins its API answers (tenants.cors)


_lock = threading.Lock()
_tenants: dict[str, tuple[float, ResolvedTenant]] = {}
_domains: OrderedDict[str, tuple[float, str | None]] = OrderedDict()  # least recently used first
_missing: dict[str, float] = {}  # unknown slug -> expires at
_generation: list[object] = [None, 0.0]  # [value, checked at]


def lookup(slug: str) -> ResolvedTenant | None:
    """Return the tenant `slug` (cached while active), or None if unknown (cached briefly)."""
    _check_generation()
    now = time.monotonic()
    hit = _tenants.get(slug)
    if hit and hit[0] > now:
        return hit[1]
    if _missing.get(slug, 0.0) > now:
        return None
    tenant = selectors.tenant_for_resolution(slug=slug)
    if tenant is None or tenant.status != TenantStatus.ACTIVE:  # the replica may be behind: ask the primary
        tenant = selectors.tenant_for_resolution(slug=slug, primary=True)
    if tenant is None:
        _remember_missing(slug, now)
        return None
    domains: list[str] = tenant.domain_names  # type: ignore[attr-defined]  # annotated by the selector
    origins = cors.allowed_origins(slug=tenant.slug, domains=domains, extra=tenant.cors_origins)
    resolved = ResolvedTenant(selectors.tenant_spec(tenant), tenant.status, origins)
    if tenant.status == TenantStatus.ACTIVE:
        with _lock:
            _tenants[slug] = (now + settings.TENANT_CACHE_TTL_SECONDS, resolved)
    return resolved


def _remember_missing(slug: str, now: float) -> None:
    with _lock:
        if len(_missing) >= MISSING_MAX:
            _missing.clear()
        _missing[slug] = now + settings.TENANT_NEGATIVE_CACHE_SECONDS


def normalize_host(host: str) -> str:
    """Return `host` as resolution compares it: lower case, no port, no trailing dot.

    `Example.COM.:8000` and `example.com` name the same site; left apart, the
    first would miss its tenant and fall through to the `X-Tenant` header.
    """
    domain, _port = split_domain_port(host)
    return domain


def slug_for_host(host: str) -> str | None:
    """Return the slug a host name addresses: a custom domain, then `<slug>.<base>`."""
    host = normalize_host(host)
    now = time.monotonic()
    hit = _domains.get(host)
    if hit is None or hit[0] <= now:
        hit = (now + settings.TENANT_CACHE_TTL_SECONDS, selectors.tenant_slug_for_domain(domain=host))
    with _lock:
        _domains[host] = hit
        _domains.move_to_end(host)
        while len(_domains) > max(1, settings.TENANT_HOST_CACHE_MAX):
            _domains.popitem(last=False)
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
    generation: object = 1
    if cache.add(GENERATION_KEY, 1, timeout=None) is False:
        try:
            generation = cache.incr(GENERATION_KEY)
        except ValueError:
            cache.set(GENERATION_KEY, 1, timeout=None)
    with _lock:  # this process is current already: its next check must not flush again
        _generation[0], _generation[1] = generation, time.monotonic()


def clear_local() -> None:
    """Drop this process's cache only."""
    with _lock:
        _clear_locked()


def _clear_locked() -> None:
    _tenants.clear()
    _domains.clear()
    _missing.clear()


def _check_generation() -> None:
    now = time.monotonic()
    if now - float(_generation[1]) < settings.TENANT_CACHE_CHECK_SECONDS:  # type: ignore[arg-type]
        return
    sync_generation(cache.get(GENERATION_KEY), now=now)


def sync_generation(current: object, *, now: float | None = None) -> None:
    """Drop this process's cache if `current` (the generation just read from Redis) moved."""
    with _lock:
        if current != _generation[0]:
            _clear_locked()
            _generation[0] = current
        _generation[1] = time.monotonic() if now is None else now


def active_spec(slug: str) -> TenantSpec | None:
    """Return the spec of an active tenant (TENANT_SPEC_RESOLVER for Celery tasks).

    A task whose tenant looks unknown or inactive is about to fail for good, so
    the answer is confirmed on the control primary first: the cache (or the
    control replica behind it) may not know a tenant created a moment ago.
    """
    resolved = lookup(slug)
    if resolved and resolved.status == TenantStatus.ACTIVE:
        return resolved.spec
    tenant = selectors.tenant_get(slug=slug, primary=True)
    if tenant is None or tenant.status != TenantStatus.ACTIVE:
        return None
    with _lock:
        _missing.pop(slug, None)
    return selectors.tenant_spec(tenant)
