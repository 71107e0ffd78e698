"""Validation of tenant identifiers: slugs, domains, reserved words."""

from __future__ import annotations

import re

from django.conf import settings

from routers import SLUG_RE

RESERVED_SLUGS = frozenset({
    "admin", "api", "app", "www", "mail", "static", "media", "assets", "cdn", "docs", "help", "status",
    "support", "platform", "control", "default", "postgres", "template", "tessera", "root", "system",
    "public", "internal", "health", "healthz", "readyz", "metrics", "login", "auth", "billing", "test",
})
# scheme://host[:port], nothing else: no path, query, user info or wildcard.
ORIGIN_RE = re.compile(r"^https?://(?P<host>[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)"
                       r"(:(?P<port>[1-9][0-9]{0,4}))?$")
DEFAULT_PORTS = {"http": "80", "https": "443"}
DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def slug_problem(slug: object) -> str | None:
    """Return why `slug` is not acceptable, or None when it is."""
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        return "3-40 lowercase letters, digits or hyphens, starting with a letter."
    if slug.endswith("-") or "--" in slug:
        return "no trailing or doubled hyphens."
    if slug in RESERVED_SLUGS:
        return f"'{slug}' is reserved."
    return None


def domain_problem(domain: object) -> str | None:
    """Return why `domain` is not a host name, or None when it is."""
    if not isinstance(domain, str) or not DOMAIN_RE.match(domain):
        return "a lowercase host name such as app.example.com."
    return None


def custom_domain_problem(domain: object) -> str | None:
    """Return why `domain` cannot be a tenant's custom domain, or None when it can."""
    if problem := domain_problem(domain):
        return problem
    base = settings.TENANT_BASE_DOMAIN
    if domain == base or str(domain).endswith("." + base):
        return "subdomains of the base domain are implicit."
    return None


def normalize_domain(domain: object) -> object:
    """Lower-case and strip a host name; anything else is returned for the checks to refuse."""
    return domain.strip().lower() if isinstance(domain, str) else domain


def origin_problem(origin: object) -> str | None:
    """Return why `origin` is not a browser origin (scheme://host[:port]), or None when it is."""
    if not isinstance(origin, str) or len(origin) > 300:
        return "an origin such as https://app.example.com (at most 300 characters)."
    match = ORIGIN_RE.match(origin)
    if match is None:
        return "an origin is http(s)://host[:port]: no path, no trailing slash, no wildcard."
    if int(match["port"] or 1) > 65535:
        return "a port is at most 65535."
    return None


def normalize_origin(origin: object) -> object:
    """Lower-case and strip an origin and drop its scheme's default port, as browsers send it."""
    if not isinstance(origin, str):
        return origin
    origin = origin.strip().lower()
    scheme, _, rest = origin.partition("://")
    default = DEFAULT_PORTS.get(scheme)
    if default and rest.endswith(":" + default):
        origin = origin[: -len(default) - 1]
    return origin
