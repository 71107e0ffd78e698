"""The host cache is bounded; a status the control replica has not caught up on is confirmed."""

from __future__ import annotations

from django.db import connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from routers import TenantSpec, consistency
from tenants import resolution
from tenants.models import Tenant, TenantStatus
from tests.factories import TenantFactory
from tests.routers.helpers import replay_paused, wait_replica_caught_up


def control_queries(action: object) -> int:
    with CaptureQueriesContext(connections["default"]) as primary, \
            CaptureQueriesContext(connections["default_replica"]) as replica:
        action()  # type: ignore[operator]
    return len(primary) + len(replica)


def test_the_host_cache_keeps_only_the_most_recently_used_hosts(servers: None) -> None:
    resolution.clear_local()
    hosts = [f"h{n}.example.test" for n in range(10)]
    with override_settings(TENANT_HOST_CACHE_MAX=3):
        for host in hosts:
            assert resolution.slug_for_host(host) is None
        assert len(resolution._domains) == 3
        assert control_queries(lambda: resolution.slug_for_host(hosts[-1])) == 0  # still cached
        assert control_queries(lambda: resolution.slug_for_host(hosts[0])) == 1  # evicted: asked again
        assert len(resolution._domains) == 3


def test_a_tenant_active_on_the_control_primary_serves_while_the_replica_lags(
    tenants: dict[str, TenantSpec], servers: None,
) -> None:
    alpha = tenants["alpha"]
    tenant = TenantFactory.for_spec(alpha, status=TenantStatus.PROVISIONING)
    wait_replica_caught_up()
    with replay_paused():
        Tenant.objects.using("default").filter(pk=tenant.pk).update(status=TenantStatus.ACTIVE)
        on_replica = Tenant.objects.using("default_replica").get(pk=tenant.pk)
        assert on_replica.status == TenantStatus.PROVISIONING  # the replica has not replayed it
        resolution.invalidate()
        with consistency.read_scope():  # a fresh unit of work: the writes above pin nothing to the primary
            assert Tenant.objects.filter(pk=tenant.pk).db == "default_replica"
            response = Client().get("/api/me/", HTTP_X_TENANT=alpha.slug)
        assert response.status_code == 401, response.content  # past the tenant check: it serves
