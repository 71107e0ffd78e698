"""Tenant specs and alias names: pure values, no database."""

from __future__ import annotations

import pytest

from routers import InvalidTenantSpec, TenantSpec
from routers.spec import database_name_for, is_tenant_alias, slug_of

pytestmark = pytest.mark.unit


def test_a_spec_names_its_primary_direct_and_replica_aliases() -> None:
    spec = TenantSpec("acme-co", "a", "t_acme_co")
    assert spec.alias == "tenant:acme-co"
    assert spec.direct_alias == "tenant:acme-co:direct"
    assert [spec.replica_alias(i) for i in (0, 1)] == ["tenant:acme-co:replica", "tenant:acme-co:replica1"]


def test_the_slug_is_read_back_from_every_kind_of_alias() -> None:
    spec = TenantSpec("acme-co", "a", "t_acme_co")
    aliases = [spec.alias, spec.direct_alias, spec.replica_alias(0), spec.replica_alias(2)]
    assert {slug_of(alias) for alias in aliases} == {"acme-co"}
    assert all(is_tenant_alias(alias) for alias in aliases)
    assert not is_tenant_alias("default") and not is_tenant_alias("default_replica")


@pytest.mark.parametrize(("slug", "server", "database"), [
    ("Acme", "a", "t_acme"), ("ab", "a", "t_ab"), ("acme", "", "t_acme"), ("acme", "a", "t-acme"),
    ("acme", "a", "t_acme; drop"), ("acme", "a", "x" * 64),
])
def test_a_spec_refuses_what_could_not_name_a_database_safely(slug: str, server: str, database: str) -> None:
    with pytest.raises(InvalidTenantSpec):
        TenantSpec(slug, server, database)


def test_database_names_replace_hyphens_and_refuse_bad_slugs() -> None:
    assert database_name_for("acme-co", "t_") == "t_acme_co"
    with pytest.raises(InvalidTenantSpec):
        database_name_for("Acme", "t_")
