"""Validation of tenant identifiers: slugs, domains, reserved words."""

from __future__ import annotations

import re

from django.conf import settings

from routers.spec import SLUG_RE

RESERVED_SLUGS = frozenset({
    "admin", "api", "app", "www", "mail", "static", "media", "assets", "cdn", "docs", "help", "status",
    "support", "platform", "control", "default", "postgres", "template", "tessera", "root", "system",
    "public", "internal", "health", "healthz", "readyz", "metrics", "login", "auth", "billing", "test",
})
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
