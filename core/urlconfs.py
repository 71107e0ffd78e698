"""Which plane a path belongs to, read from the planes' URLconfs (ROOT_URLCONF and TENANT_URLCONF).

A path that a top-level entry of the platform URLconf matches (an `include()`
as a prefix, a view exactly) is the platform's; otherwise one matched by the
tenant URLconf's top-level entries is the tenant's; anything else is the
platform's again (its 404).
"""

from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver


def _claims(urlconf: str, path: str) -> bool:
    entries: list[URLPattern | URLResolver] = get_resolver(urlconf).url_patterns
    return any(entry.pattern.match(path.lstrip("/")) for entry in entries)


def is_tenant_path(path: str) -> bool:
    """Say whether `path` is served by the tenant plane (and so needs a tenant)."""
    return not _claims(settings.ROOT_URLCONF, path) and _claims(settings.TENANT_URLCONF, path)
