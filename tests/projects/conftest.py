"""A two-tenant product world: tenants registered in the control plane, users with roles and tokens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from rest_framework.authtoken.models import Token

from projects.models import Project, Role
from routers import TenantSpec, tenant_context
from tenants import services
from tests.api import Api
from tests.factories import MembershipFactory, ProjectFactory, TaskFactory, TenantFactory, UserFactory
from tests.routers.helpers import wait_replica_caught_up


@dataclass
class TenantWorld:
    spec: TenantSpec
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    project: Project | None = None
    hidden: Project | None = None


@contextmanager
def seeded(spec: TenantSpec) -> Iterator[None]:
    """Write a tenant's rows from test code, then wait until server a's replica has replayed them.

    No request pins the reads that follow (read-your-writes follows a client's own writes), so on a
    loaded machine they could otherwise reach a replica that has not replayed the rows yet.
    """
    with tenant_context(spec):
        yield
    if spec.server == "a":
        wait_replica_caught_up(reset=False)


def _populate(spec: TenantSpec) -> TenantWorld:
    world = TenantWorld(spec)
    with seeded(spec):
        for name, admin in (("admin", True), ("member", False), ("viewer", False), ("outsider", False)):
            user = UserFactory(username=f"{name}-{spec.slug}", is_staff=admin)
            world.users[name] = user
            world.tokens[name] = Token.objects.create(user=user).key
        world.project = ProjectFactory(name=f"{spec.slug} main", key="MAIN")
        MembershipFactory(project=world.project, user=world.users["member"], role=Role.MEMBER)
        MembershipFactory(project=world.project, user=world.users["viewer"], role=Role.VIEWER)
        world.hidden = ProjectFactory(name=f"{spec.slug} secret", key="SECRET")
        TaskFactory(project=world.project, title=f"{spec.slug} first task", assignee=world.users["member"],
                    status="todo", tags=["first"], description="the very first task")
    return world


@pytest.fixture
def product(tenants: dict[str, TenantSpec], control_db: None) -> dict[str, TenantWorld]:
    """alpha (server a, replica) and beta (server b), active in the control plane, with users."""
    services.servers_sync()
    for spec in tenants.values():
        TenantFactory.for_spec(spec)
    return {slug: _populate(spec) for slug, spec in tenants.items()}


def as_user(world: TenantWorld, who: str, tenant: str | None = None) -> Api:
    return Api(token=world.tokens.get(who), tenant=tenant or world.spec.slug)
