"""The demo seed fills a tenant without factory_boy (a test-only dependency)."""

from __future__ import annotations

from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command

from projects.models import Project, ProjectMembership, Task
from routers import TenantSpec, tenant_context
from tenants import services
from tests.factories import TenantFactory


def test_seed_demo_fills_a_tenant_once(tenants: dict[str, TenantSpec], control_db: None) -> None:
    services.servers_sync()
    TenantFactory.for_spec(tenants["alpha"])
    call_command("seed_demo", tenant="alpha", tasks=4, stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", tenant="alpha", tasks=4, stdout=out)
    assert "already has data" in out.getvalue()
    with tenant_context(tenants["alpha"]):
        assert Project.objects.count() == 3 and Task.objects.count() == 12
        assert ProjectMembership.objects.count() == 9
        assert get_user_model().objects.get(username="alice").check_password("password-123")
