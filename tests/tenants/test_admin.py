"""The Django admin writes through tenants.services: validation and cache invalidation apply."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tenants import services
from tenants.models import DatabaseServer, Domain, ProvisioningJob, Tenant


@pytest.fixture
def superuser_client(servers: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.test", "root-pass-1"))
    return client


@pytest.fixture
def tenant(servers: None) -> Tenant:
    """A tenant still provisioning: it resolves (503), so domain changes are visible without a database."""
    created, _ = services.tenant_create(slug="p-adm", name="Adm", admin_email="o@p-adm.test", enqueue=False)
    return created


def _resolves(host: str) -> int:
    return int(Client().get("/api/me/", HTTP_HOST=host).status_code)


def test_adding_and_deleting_a_domain_goes_through_the_services(superuser_client: Client, tenant: Tenant) -> None:
    assert _resolves("shop.p-adm.test") == 404  # and the answer is cached in this process
    added = superuser_client.post("/admin/tenants/domain/add/", {"domain": " Shop.P-Adm.test ", "tenant": tenant.pk})
    assert added.status_code == 302, added.content
    row = Domain.objects.get(tenant=tenant)
    assert row.domain == "shop.p-adm.test"
    assert _resolves("shop.p-adm.test") == 503  # the cached 404 was invalidated

    deleted = superuser_client.post(f"/admin/tenants/domain/{row.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not Domain.objects.exists()
    assert _resolves("shop.p-adm.test") == 404


@pytest.mark.parametrize("domain,error", [
    ("app.localhost", "subdomains of the base domain are implicit"),
    ("not a domain", "a lowercase host name"),
])
def test_the_admin_refuses_what_the_api_refuses(superuser_client: Client, tenant: Tenant, domain: str,
                                                error: str) -> None:
    response = superuser_client.post("/admin/tenants/domain/add/", {"domain": domain, "tenant": tenant.pk})
    assert response.status_code == 200 and error in response.content.decode()
    inline = superuser_client.post(f"/admin/tenants/tenant/{tenant.pk}/change/", _tenant_form(tenant, [domain]))
    assert inline.status_code == 200 and error in inline.content.decode()
    assert not Domain.objects.exists()


def test_the_tenant_page_edits_domains_and_profile_through_the_services(superuser_client: Client,
                                                                        tenant: Tenant) -> None:
    assert _resolves("inline.p-adm.test") == 404
    saved = superuser_client.post(f"/admin/tenants/tenant/{tenant.pk}/change/",
                              _tenant_form(tenant, ["Inline.P-Adm.test"], name="Renamed", plan="pro"))
    assert saved.status_code == 302, saved.content
    assert _resolves("inline.p-adm.test") == 503
    row = Domain.objects.get(tenant=tenant)
    tenant.refresh_from_db()
    assert (tenant.name, tenant.plan, tenant.status) == ("Renamed", "pro", "provisioning")

    removed = superuser_client.post(f"/admin/tenants/tenant/{tenant.pk}/change/",
                                _tenant_form(tenant, [], existing=[row], delete=True))
    assert removed.status_code == 302, removed.content
    assert not Domain.objects.exists() and _resolves("inline.p-adm.test") == 404


def test_jobs_are_read_only_and_servers_only_open_or_close(superuser_client: Client, tenant: Tenant) -> None:
    job = ProvisioningJob.objects.get(tenant=tenant)
    assert superuser_client.get(f"/admin/tenants/provisioningjob/{job.pk}/change/").status_code == 200
    posted = superuser_client.post(f"/admin/tenants/provisioningjob/{job.pk}/change/", {"status": "done"})
    assert posted.status_code == 403 and ProvisioningJob.objects.get(pk=job.pk).status == "pending"
    server = DatabaseServer.objects.get(name="b")
    closed = superuser_client.post(f"/admin/tenants/databaseserver/{server.pk}/change/", {"accepts_tenants": ""})
    assert closed.status_code == 302
    assert DatabaseServer.objects.get(name="b").accepts_tenants is False
    assert services.tenant_create(slug="p-adm2", name="A", admin_email="o@p-adm2.test",
                                  enqueue=False)[0].server_id == "a"


def _tenant_form(tenant: Tenant, new: list[str], *, existing: Sequence[Domain] = (), delete: bool = False,
                 **profile: str) -> dict[str, Any]:
    """Return the POST data of the tenant change page with its domain inline."""
    data: dict[str, Any] = {"name": tenant.name, "plan": tenant.plan, **profile,
                            "domains-TOTAL_FORMS": len(existing) + len(new), "domains-INITIAL_FORMS": len(existing),
                            "domains-MIN_NUM_FORMS": 0, "domains-MAX_NUM_FORMS": 1000}
    for i, row in enumerate(existing):
        data |= {f"domains-{i}-id": row.pk, f"domains-{i}-tenant": tenant.pk, f"domains-{i}-domain": row.domain}
        if delete:
            data[f"domains-{i}-DELETE"] = "on"
    for i, domain in enumerate(new, start=len(existing)):
        data |= {f"domains-{i}-id": "", f"domains-{i}-tenant": tenant.pk, f"domains-{i}-domain": domain}
    return data


def test_admin_names_tessera_and_its_actions_are_imperative(superuser_client: Client, tenant: Tenant) -> None:
    page = superuser_client.get("/admin/tenants/tenant/").content.decode()
    assert "Tessera platform administration" in page
    assert "Suspend selected tenants" in page and "Suspended selected" not in page


def test_action_messages_keep_slugs_lower_case(superuser_client: Client, tenant: Tenant) -> None:
    response = superuser_client.post("/admin/tenants/tenant/", {"action": "suspend_tenants",
                                                                 "_selected_action": [tenant.pk]}, follow=True)
    page = response.content.decode()
    assert "Tenant p-adm:" in page and "P-adm" not in page and "Suspended 0 tenant(s)." in page


def test_the_server_list_shows_tenant_counts_and_replica_lag(superuser_client: Client, tenant: Tenant) -> None:
    page = superuser_client.get("/admin/tenants/databaseserver/").content.decode()
    assert "replica lag (s)" in page.lower() and 'class="field-tenant_count">1<' in page


def test_migration_runs_are_read_only_history_with_records(superuser_client: Client, servers: None) -> None:
    from migrations_tooling.models import MigrationRecord, MigrationRun

    run = MigrationRun.objects.create(status="failed", requested_by="cli", error="1 database(s) failed")
    MigrationRecord.objects.create(run=run, database_label="p-ledger", server="a", database="t_p_ledger",
                                   status="failed", error="boom")
    listing = superuser_client.get("/admin/migrations_tooling/migrationrun/").content.decode()
    assert "failed 1" in listing
    detail = superuser_client.get(f"/admin/migrations_tooling/migrationrun/{run.pk}/change/").content.decode()
    assert "p-ledger" in detail and "boom" in detail and 'name="_save"' not in detail
    assert superuser_client.get("/admin/migrations_tooling/migrationrun/add/").status_code == 403


def test_admin_errors_are_html_and_the_api_keeps_json(superuser_client: Client, servers: None) -> None:
    missing = superuser_client.get("/admin/no/such/page/")
    assert missing.status_code == 404 and missing["Content-Type"].startswith("text/html")
    csrf = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "x", "password": "y"})
    assert csrf.status_code == 403 and csrf["Content-Type"].startswith("text/html")
    api = Client().get("/api/platform/no/such/")
    assert api.status_code == 404 and api.json()["code"] == "not_found"


def test_the_admin_is_not_served_on_a_tenant_host(servers: None, tenant: Tenant) -> None:
    for host in ("p-adm.localhost", "anything.localhost"):
        response = Client().get("/admin/login/", HTTP_HOST=host)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert Client().get("/admin/login/", HTTP_HOST="localhost").status_code == 200


def test_backups_are_listed_read_only(superuser_client: Client, tenant: Tenant) -> None:
    from tenants.models import Backup

    backup = Backup.objects.create(tenant=tenant, server="b", database=tenant.database, status="done", size=10,
                                   checksum="0" * 64, requested_by="cli:ops")
    listed = superuser_client.get("/admin/tenants/backup/")
    assert listed.status_code == 200 and b"cli:ops" in listed.content
    assert superuser_client.get(f"/admin/tenants/backup/{backup.pk}/change/").status_code == 200
    posted = superuser_client.post(f"/admin/tenants/backup/{backup.pk}/change/", {"status": "failed"})
    assert posted.status_code == 403 and Backup.objects.get(pk=backup.pk).status == "done"
    assert superuser_client.post(f"/admin/tenants/backup/{backup.pk}/delete/", {"post": "yes"}).status_code == 403
