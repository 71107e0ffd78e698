"""The frozen description of one tenant's databases (routers knows no Tenant model)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from routers.exceptions import InvalidTenantSpec

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{2,39}$")
DBNAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
ALIAS_PREFIX = "tenant:"


class AliasKind(enum.StrEnum):
    """What an alias connects to; the registry records it for every alias it registers."""

    CONTROL = "control"  # the control plane's primary (`default`)
    CONTROL_REPLICA = "control_replica"
    TENANT = "tenant"  # a tenant's primary (pooled when the server has a pooler)
    REPLICA = "replica"  # a tenant's replica
    DIRECT = "direct"  # a tenant's primary, never pooled (migrations)
    TEMPLATE = "template"  # a server's template database (migrations, provisioning)

    @property
    def has_schema(self) -> bool:
        """Return True for kinds whose database carries the tenant schema (migrations run there)."""
        return self in (AliasKind.TENANT, AliasKind.DIRECT, AliasKind.TEMPLATE)


def kind_of(alias: str) -> AliasKind | None:
    """Return the kind an alias name stands for, registered or not (None: not a routing alias).

    The one parser of alias names: the registry's `AliasInfo` is the answer
    for registered aliases; this one serves names from elsewhere (an object's
    `_state.db` after its tenant was evicted, `allow_migrate`).
    """
    if alias == "default":
        return AliasKind.CONTROL
    if alias == "default_replica":
        return AliasKind.CONTROL_REPLICA
    if alias.startswith("template:"):
        return AliasKind.TEMPLATE
    if not alias.startswith(ALIAS_PREFIX):
        return None
    role = alias[len(ALIAS_PREFIX):].split(":")[1:]
    if not role:
        return AliasKind.TENANT
    if role == ["direct"]:
        return AliasKind.DIRECT
    return AliasKind.REPLICA if role[0].startswith("replica") else None


@dataclass(frozen=True, slots=True)
class TenantSpec:
    """Where a tenant's data lives: its slug, server name and database name."""

    slug: str
    server: str
    database: str
    # The control plane's id of this incarnation of the tenant (a slug can be re-used after a
    # deletion; the id never is). It scopes cache keys; it does not change where data lives.
    tenant_id: int | None = field(default=None, compare=False)
    # The tenant's plan (core.plans; "" is the default plan): the product reads its limits from it.
    # Outside equality too: a plan change applies its limits without re-registering the aliases.
    plan: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not SLUG_RE.match(self.slug):
            raise InvalidTenantSpec(f"invalid tenant slug {self.slug!r}")
        if not DBNAME_RE.match(self.database):
            raise InvalidTenantSpec(f"invalid database name {self.database!r}")
        if not self.server:
            raise InvalidTenantSpec("a tenant needs a server")

    @property
    def alias(self) -> str:
        """Return the alias of the tenant's primary (pooled when a pooler is configured)."""
        return f"{ALIAS_PREFIX}{self.slug}"

    @property
    def direct_alias(self) -> str:
        """Return the alias that always connects straight to the primary (migrations)."""
        return f"{ALIAS_PREFIX}{self.slug}:direct"

    def replica_alias(self, index: int) -> str:
        """Return the alias of the tenant's `index`-th replica."""
        return f"{ALIAS_PREFIX}{self.slug}:replica" + (str(index) if index else "")


def is_tenant_alias(alias: str) -> bool:
    return alias.startswith(ALIAS_PREFIX)


def slug_of(alias: str) -> str:
    """Return the tenant slug encoded in a tenant alias."""
    return alias[len(ALIAS_PREFIX):].split(":", 1)[0]


def database_name_for(slug: str, prefix: str) -> str:
    """Derive a safe database name from a validated slug (`-` becomes `_`)."""
    if not SLUG_RE.match(slug):
        raise InvalidTenantSpec(f"invalid tenant slug {slug!r}")
    name = f"{prefix}{slug.replace('-', '_')}"
    if not DBNAME_RE.match(name):
        raise InvalidTenantSpec(f"derived database name {name!r} is invalid")
    return name
