"""Which browser origins may call which API (django-cors-headers, hooked by its signal).

Each tenant's API answers CORS requests from the tenant's own origins only:
`https://<slug>.<TENANT_BASE_DOMAIN>`, `https://<domain>` for each custom
domain, and the extra origins platform admins set (`Tenant.cors_origins`).
They travel with the tenant's cached resolution, so checking them costs no
query. The platform API answers only `PLATFORM_CORS_ALLOWED_ORIGINS`; every
other path (admin, health, schema) answers no CORS request. See docs/tenants.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


def default_origins(*, slug: str, domains: Iterable[str]) -> list[str]:
    """Return the origins a tenant allows without being told: its https host names."""
    hosts = [f"{slug}.{settings.TENANT_BASE_DOMAIN}", *sorted(domains)]
    return [f"https://{host}" for host in hosts]


def allowed_origins(*, slug: str, domains: Iterable[str], extra: Iterable[str]) -> frozenset[str]:
    """Return every origin a tenant's API answers: its defaults and the extras admins set."""
    return frozenset(default_origins(slug=slug, domains=domains)) | frozenset(extra)


def _platform_api(path: str) -> bool:
    try:
        return path.startswith(reverse("platform-root", urlconf=settings.ROOT_URLCONF))
    except NoReverseMatch:  # a URLconf without the platform API (some tests serve their own)
        return False


def origin_allowed(sender: object, request: HttpRequest, **kwargs: Any) -> bool:
    """Tell django-cors-headers whether the request's Origin may read this response.

    Tenant requests carry their tenant's origins (set by TenantMiddleware);
    a request that has none (no tenant was resolved) allows nothing.
    """
    origin = request.headers.get("Origin", "")
    if _platform_api(request.path_info):
        return origin in settings.PLATFORM_CORS_ALLOWED_ORIGINS
    origins: frozenset[str] = getattr(request, "tenant_origins", frozenset())
    return origin in origins
