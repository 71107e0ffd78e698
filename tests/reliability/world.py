"""Seed tenants for the reliability suite: real databases, marked data, disjoint ids.

Every tenant gets its own database (cloned from the template), an active
Tenant row with a custom domain, users with tokens, projects, tasks, comments
and finished exports. Two properties make cross-tenant leaks detectable:

* every text the tenant owns carries its *canary*, a random marker no other
  tenant has, so any response body can be searched for other tenants' data;
* every id sequence of tenant number `i` starts at `(i + 1) * ID_STRIDE`, so
  an id taken from another tenant never names an object of the caller's own
  tenant: a 2xx on it can only be a leak, never a coincidence.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg2
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from core.dbservers import configured_servers
from projects.models import Comment, Export, Project, ProjectMembership, Task
from routers import TenantSpec, tenant_atomic, tenant_context, unregister
from routers.cache import tenant_keys_purge
from tenants import dbops, resolution, services
from tenants.models import Tenant
from tests.conftest import create_tenant_database
from tests.factories import DomainFactory, TenantFactory

ID_STRIDE = 1_000_000
ROLES = ("admin", "member", "viewer")
SEEDED_TABLES = {"project": "projects_project", "task": "projects_task", "comment": "projects_comment",
                 "export": "projects_export", "user": "auth_user", "membership": "projects_projectmembership"}


@dataclass
class SeededTenant:
    """One seeded tenant: where it lives, how to reach it, what it holds."""

    spec: TenantSpec
    canary: str
    domain: str
    password: str  # of the user named "shared", which every tenant has
    tokens: dict[str, str] = field(default_factory=dict)  # role -> token key
    ids: dict[str, list[int]] = field(default_factory=dict)  # entity -> ids

    @property
    def slug(self) -> str:
        return self.spec.slug


def build_world(prefix: str, servers: Iterable[str], *, tasks_per_project: int = 3) -> list[SeededTenant]:
    """Create, register and seed one tenant per entry of `servers` (slugs `<prefix>-<n>`)."""
    services.servers_sync()
    world = []
    for index, server in enumerate(servers):
        spec = create_tenant_database(f"{prefix}-{index}", server)
        _restart_ids(spec, start=(index + 1) * ID_STRIDE)
        tenant = TenantFactory.for_spec(spec)
        seeded = SeededTenant(spec, canary=f"cnry{secrets.token_hex(6)}", domain=f"{spec.slug}.example.test",
                              password=f"pw-{secrets.token_hex(8)}")
        DomainFactory(domain=seeded.domain, tenant=tenant)
        _seed(seeded, tasks_per_project)
        world.append(seeded)
    resolution.invalidate()
    return world


def drop_world(world: list[SeededTenant]) -> None:
    """Remove the tenants' rows, cache keys, aliases and databases."""
    from django.db import connections

    for seeded in world:
        clear_cache(seeded)
    Tenant.objects.filter(slug__in=[s.slug for s in world]).delete()
    connections.close_all()
    for seeded in world:
        unregister(seeded.slug)
        dbops.drop_database(seeded.spec.server, seeded.spec.database)
    resolution.invalidate()


def clear_cache(seeded: SeededTenant) -> None:
    tenant_keys_purge(seeded.spec, every_incarnation=True)  # requests use the control-plane row's id


def _direct(spec: TenantSpec) -> psycopg2.extensions.connection:
    server = configured_servers()[spec.server]
    conn = psycopg2.connect(host=server.primary.host, port=server.primary.port, user=server.user,
                            password=server.password, dbname=spec.database)
    conn.autocommit = True
    return conn


def _restart_ids(spec: TenantSpec, *, start: int) -> None:
    conn = _direct(spec)
    try:
        with conn.cursor() as cursor:
            for table in SEEDED_TABLES.values():
                cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id RESTART WITH {start}")
    finally:
        conn.close()


def _seed(seeded: SeededTenant, tasks_per_project: int) -> None:
    canary, users = seeded.canary, get_user_model().objects
    with tenant_context(seeded.spec), tenant_atomic():
        people = {role: users.create_user(username=f"{role}-{canary}", email=f"{role}@{canary}.test",
                                          first_name=canary, password=seeded.password, is_staff=role == "admin")
                  for role in ROLES}
        people["shared"] = users.create_user(username="shared", password=seeded.password, last_name=canary)
        seeded.tokens = {role: Token.objects.create(user=people[role]).key for role in ROLES}
        main = Project.objects.create(name=f"{canary} main", key="MAIN", description=f"about {canary}")
        secret = Project.objects.create(name=f"{canary} secret", key="SECRET", description=f"hidden {canary}")
        for role, project in (("member", main), ("viewer", main), ("admin", secret)):
            ProjectMembership.objects.create(project=project, user=people[role], role=role)
        tasks = [Task.objects.create(project=project, title=f"{canary} task {n}", description=f"{canary} text",
                                     assignee=people["member"] if project == main else None,
                                     reporter=people["admin"], tags=["seeded"])
                 for project in (main, secret) for n in range(tasks_per_project)]
        comments = [Comment.objects.create(task=task, author=people["member"], body=f"{canary} says hi")
                    for task in tasks]
        exports = [Export.objects.create(requested_by=people[role], status="done", file_name=f"{canary}.csv",
                                         content=f"id,title\n1,{canary} row\n", rows_done=1, rows_total=1)
                   for role in ("admin", "member")]
    seeded.ids = {"project": [main.pk, secret.pk], "task": [t.pk for t in tasks],
                  "comment": [c.pk for c in comments], "export": [e.pk for e in exports],
                  "user": [u.pk for u in people.values()]}


def fingerprint(seeded: SeededTenant) -> dict[str, dict[int, str]]:
    """Return, per seeded table, each row's id and a hash of its whole content."""
    conn = _direct(seeded.spec)
    try:
        with conn.cursor() as cursor:
            result = {}
            for entity, table in SEEDED_TABLES.items():
                cursor.execute(f"SELECT id, md5(row_to_json(t)::text) FROM {table} t")
                result[entity] = dict(cursor.fetchall())
            return result
    finally:
        conn.close()
