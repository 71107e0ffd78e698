"""A two-tenant product world: tenants registered in the control plane, users with roles and tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from projects.models import Project, Role
from routers import TenantSpec, tenant_context
from tenants import services
from tests.factories import MembershipFactory, ProjectFactory, TaskFactory, TenantFactory, UserFactory


@dataclass
class TenantWorld:
    spec: TenantSpec
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    project: Project | None = None
    hidden: Project | None = None


class TenantClient:
    """JSON calls to the tenant API as one user of one tenant."""

    def __init__(self, slug: str, token: str | None, host: str | None = None) -> None:
        self.client, self.slug, self.token, self.host = Client(), slug, token, host

    def _kw(self) -> dict[str, str]:
        """Address the tenant by host name when one is set, else by the X-Tenant header."""
        kw = {"HTTP_HOST": self.host} if self.host else {"HTTP_X_TENANT": self.slug}
        if self.token:
            kw["HTTP_AUTHORIZATION"] = f"Token {self.token}"
        return kw

    def get(self, path: str, data: Any = None) -> Any:
        return self.client.get(path, data or {}, **self._kw())

    def post(self, path: str, data: Any = None) -> Any:
        return self.client.post(path, data or {}, content_type="application/json", **self._kw())

    def patch(self, path: str, data: Any) -> Any:
        return self.client.patch(path, data, content_type="application/json", **self._kw())

    def delete(self, path: str) -> Any:
        return self.client.delete(path, **self._kw())


def _populate(spec: TenantSpec) -> TenantWorld:
    world = TenantWorld(spec)
    with tenant_context(spec):
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


def as_user(world: TenantWorld, who: str, tenant: str | None = None) -> TenantClient:
    return TenantClient(tenant or world.spec.slug, world.tokens.get(who))
