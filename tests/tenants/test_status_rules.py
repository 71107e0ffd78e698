"""What the tenant API answers for each tenant state, unknown tenants, and the X-Tenant switch."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from tenants import services
from tenants.models import Tenant
from tests.factories import TenantFactory
from tests.tenants.conftest import run_django, wait_for

RETRY_AFTER = str(settings.TENANT_RETRY_AFTER_SECONDS)


@pytest.mark.parametrize("status,http,code,retry_after", [
    ("provisioning", 503, "tenant_unavailable", RETRY_AFTER),
    ("failed", 503, "tenant_unavailable", None),  # only an operator's retry helps: no time promised
    ("suspended", 403, "tenant_suspended", None),
    ("deleting", 404, "tenant_not_found", None),
    ("deleted", 404, "tenant_not_found", None),
])
@pytest.mark.parametrize("how", ["header", "host"])
def test_each_tenant_state_has_its_answer(servers: None, status: str, http: int, code: str,
                                          retry_after: str | None, how: str) -> None:
    tenant, _ = services.tenant_create(slug="p-state", name="S", admin_email="o@p-state.test", enqueue=False)
    Tenant.objects.filter(pk=tenant.pk).update(status=status)
    where = {"HTTP_X_TENANT": "p-state"} if how == "header" else {"HTTP_HOST": "p-state.localhost"}
    response = Client().get("/api/me/", **where)
    assert response.status_code == http and response.json()["code"] == code and response.json()["detail"]
    assert response.get("Retry-After") == retry_after


def test_an_unknown_tenant_is_404_and_remembered_without_control_plane_queries(servers: None) -> None:
    client = Client()
    shapes = [{"HTTP_HOST": "p-ghost.localhost"}, {"HTTP_X_TENANT": "p-ghost"}]
    for headers in shapes:  # the first of each asks the control plane
        first = client.get("/api/me/", **headers)
        assert first.status_code == 404 and first.json()["code"] == "tenant_not_found"
    with CaptureQueriesContext(connections["default"]) as control, \
            CaptureQueriesContext(connections["default_replica"]) as replica:
        for headers in shapes * 3:
            assert client.get("/api/me/", **headers).status_code == 404
    assert len(control) == 0 and len(replica) == 0
    # Creating the tenant (in this process) forgets the answer at once.
    services.tenant_create(slug="p-ghost", name="G", admin_email="o@p-ghost.test", enqueue=False)
    assert client.get("/api/me/", HTTP_HOST="p-ghost.localhost").status_code == 503


def test_a_tenant_created_by_another_process_is_seen_within_the_check_interval(servers: None) -> None:
    client = Client()
    assert client.get("/api/me/", HTTP_X_TENANT="p-elsewhere").status_code == 404
    created = run_django("from tenants import services\n"
                         "services.tenant_create(slug='p-elsewhere', name='E', admin_email='o@p-elsewhere.test',"
                         " enqueue=False)")
    assert created.returncode == 0, created.stderr
    wait_for(lambda: client.get("/api/me/", HTTP_X_TENANT="p-elsewhere").status_code == 503,
             settings.TENANT_CACHE_CHECK_SECONDS + 2, "the other process's tenant to resolve")


def test_the_x_tenant_header_is_ignored_when_disabled(servers: None) -> None:
    services.tenant_create(slug="p-hdr", name="H", admin_email="o@p-hdr.test", enqueue=False)
    with override_settings(TENANT_HEADER_ENABLED=False):
        assert Client().get("/api/me/", HTTP_X_TENANT="p-hdr").status_code == 404
        assert Client().get("/api/me/", HTTP_HOST="p-hdr.localhost").status_code == 503


def test_production_settings_disable_the_x_tenant_header_by_default() -> None:
    code = "from django.conf import settings\nprint(settings.TENANT_HEADER_ENABLED)"
    result = run_django(code, DJANGO_SETTINGS_MODULE="core.settings.production", SECRET_KEY="x" * 50,
                        ALLOWED_HOSTS="example.test")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    opted_in = run_django(code, DJANGO_SETTINGS_MODULE="core.settings.production", SECRET_KEY="x" * 50,
                          ALLOWED_HOSTS="example.test", TENANT_HEADER_ENABLED="true")
    assert opted_in.stdout.strip() == "True"


def test_a_task_resolves_a_tenant_its_process_still_remembers_as_unknown(servers: None) -> None:
    from tenants import resolution

    assert resolution.lookup("p-late") is None  # remembered as unknown for a few seconds
    TenantFactory(slug="p-late", server_id="b")  # no cache invalidation
    assert resolution.lookup("p-late") is None  # requests may wait out the negative cache...
    spec = resolution.active_spec("p-late")  # ...but a task asks the control primary first
    assert spec is not None and spec.database == "tt_p_late"
    Tenant.objects.filter(slug="p-late").update(status="suspended")
    resolution.clear_local()
    assert resolution.active_spec("p-late") is None  # and never runs for an inactive tenant
