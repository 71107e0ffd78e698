"""Slug, domain and origin rules: pure functions, no database."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tenants.validation import (
    custom_domain_problem,
    domain_problem,
    normalize_domain,
    normalize_origin,
    origin_problem,
    slug_problem,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("slug", ["acme", "acme-co", "a12", "a" * 40])
def test_good_slugs_have_no_problem(slug: str) -> None:
    assert slug_problem(slug) is None


@pytest.mark.parametrize("slug", ["ab", "a" * 41, "Acme", "1acme", "acme-", "ac--me", "admin", "api", 42, None])
def test_bad_or_reserved_slugs_say_why(slug: object) -> None:
    assert slug_problem(slug)


def test_domains_are_normalized_then_checked() -> None:
    assert normalize_domain("  App.Example.COM ") == "app.example.com"
    assert domain_problem("app.example.com") is None
    assert domain_problem("app_example.com") and domain_problem("localhost") and domain_problem(7)


@override_settings(TENANT_BASE_DOMAIN="tessera.test")
def test_a_custom_domain_cannot_be_under_the_base_domain() -> None:
    assert custom_domain_problem("acme.example.com") is None
    assert custom_domain_problem("tessera.test") and custom_domain_problem("acme.tessera.test")


def test_origins_are_scheme_host_and_port_only() -> None:
    assert origin_problem("https://app.example.com") is None
    assert origin_problem("http://localhost:3000") is None
    for bad in ("https://app.example.com/", "https://*.example.com", "ftp://x.com", "https://x.com:70000", 1):
        assert origin_problem(bad), bad
    assert normalize_origin(" HTTPS://App.Example.com:443 ") == "https://app.example.com"
