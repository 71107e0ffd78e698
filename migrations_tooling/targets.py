"""The databases a fleet run covers, built in one place.

`fleet_targets()` is the only builder of a target list: runs, plans, drift
reports and backfills all call it, so a rule that keeps a tenant out of the
fleet (its status, an operation holding it) is written once, in
`migratable_tenants()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.db.models import QuerySet

from core.aliases import CONTROL_ALIAS
from core.dbservers import configured_servers
from core.errors import ApiError
from migrations_tooling.errors import MigrationErrorCode
from tenants import templates
from tenants.models import Tenant, TenantStatus
from tenants.operations import busy_tenants

CONTROL = "control"  # the ledger label of the control plane
TEMPLATE_PREFIX = "template:"  # the ledger label of a server's template: "template:<server>"
MIGRATABLE = (TenantStatus.ACTIVE, TenantStatus.SUSPENDED)


class TargetKind(StrEnum):
    """What a fleet target is: a tenant's database, a server's template, or the control plane."""

    TENANT = "tenant"
    TEMPLATE = "template"
    CONTROL = "control"

    @classmethod
    def of_label(cls, label: str) -> TargetKind:
        """Return the kind a ledger label names (the ledger stores labels, not kinds)."""
        if label == CONTROL:
            return cls.CONTROL
        return cls.TEMPLATE if label.startswith(TEMPLATE_PREFIX) else cls.TENANT


@dataclass(frozen=True)
class Target:
    """One database of a fleet run."""

    label: str  # tenant slug, "template:<server>" or "control"
    server: str
    database: str
    kind: TargetKind = TargetKind.TENANT


class UnknownTenants(ApiError):
    status_code = 400
    code = MigrationErrorCode.UNKNOWN_TENANTS


def control_target() -> Target:
    """Return the control plane as a target (migrated first, recorded like any database)."""
    return Target(CONTROL, CONTROL, str(settings.DATABASES[CONTROL_ALIAS]["NAME"]), TargetKind.CONTROL)


def template_target(server: str) -> Target:
    """Return `server`'s template database as a target."""
    return Target(f"{TEMPLATE_PREFIX}{server}", server, templates.template_name(), TargetKind.TEMPLATE)


def migratable_tenants() -> QuerySet[Tenant]:
    """Return the tenants fleet runs cover, read on the control primary (a lagging replica misses new ones).

    Every rule that keeps a tenant out of fleet runs is one more filter here.
    """
    return Tenant.objects.using(CONTROL_ALIAS).filter(status__in=MIGRATABLE)


def check_selection(*, tenants: Sequence[str] = (), exclude: Sequence[str] = ()) -> None:
    """Raise UnknownTenants when a slug in `tenants` or `exclude` names no migratable tenant."""
    named = set(tenants) | set(exclude)
    if not named:
        return
    known = set(migratable_tenants().filter(slug__in=named).values_list("slug", flat=True))
    if missing := sorted(named - known):
        raise UnknownTenants(f"Unknown or not migratable tenant(s): {', '.join(missing)}.")


def fleet_targets(*, tenants: Sequence[str] = (), exclude: Sequence[str] = (),
                  with_templates: bool = True) -> list[Target]:
    """Return the databases a run covers, but the control plane: each server's template first, then tenants.

    `tenants` narrows the selection to those slugs, `exclude` leaves slugs
    out; tenant databases come in slug order. A tenant being moved, restored
    or deleted is left out: no DDL may race its copy (migrate_tenants prints
    which and why, from `tenants.operations.busy_tenants`).
    """
    found = [template_target(server) for server in configured_servers()] if with_templates else []
    rows = migratable_tenants().exclude(slug__in=list(busy_tenants())).order_by("slug")
    if tenants:
        rows = rows.filter(slug__in=tenants)
    if exclude:
        rows = rows.exclude(slug__in=exclude)
    found += [Target(t.slug, t.server_id, t.database) for t in rows.only("slug", "server", "database")]
    return found
