"""One deletion per tenant, and no destructive step without proof of ownership."""

from __future__ import annotations

import re
import threading

import pytest
from django.test import Client, override_settings

from core.queue import enqueue_or_fail
from tenants import dbops, marks, templates
from tenants.models import JobKind, JobStatus, ProvisioningJob, Tenant
from tenants.tasks import delete_tenant
from tests.api import Api
from tests.conftest import ROOT
from tests.tenants.conftest import Background, new_tenant, provision, wait_for

PARALLEL = 5


def _delete_jobs(slug: str) -> int:
    return ProvisioningJob.objects.filter(tenant__slug=slug, kind=JobKind.DELETE).count()


def _job_status(job: ProvisioningJob) -> str:
    job.refresh_from_db()
    return str(job.status)


def test_a_second_delete_is_a_409_and_queues_nothing(platform: Api) -> None:
    provision("p-twice")
    assert platform.delete("/api/platform/tenants/p-twice/").status_code == 202
    again = platform.delete("/api/platform/tenants/p-twice/")  # deleting, or deleted by now
    assert again.status_code == 409 and again.json()["code"] == "invalid_state", again.content
    assert platform.wait_status("p-twice", {"gone"})["status"] == "gone"
    after = platform.delete("/api/platform/tenants/p-twice/")
    assert after.status_code == 409 and after.json()["code"] == "invalid_state"
    assert _delete_jobs("p-twice") == 1


def test_parallel_deletes_let_exactly_one_through(platform: Api) -> None:
    provision("p-race")
    barrier = threading.Barrier(PARALLEL)

    def delete() -> int:
        client = Api(Client(), platform.token)
        barrier.wait(timeout=60)
        return int(client.delete("/api/platform/tenants/p-race/").status_code)

    threads = [Background(delete) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(t.result for t in threads) == [202] + [409] * (PARALLEL - 1)  # type: ignore[type-var]
    assert _delete_jobs("p-race") == 1
    assert platform.wait_status("p-race", {"gone"})["status"] == "gone"


def test_a_stale_delete_job_leaves_a_recreated_tenant_intact(platform: Api) -> None:
    old = provision("p-reborn")
    assert platform.delete("/api/platform/tenants/p-reborn/").status_code == 202
    platform.wait_status("p-reborn", {"gone"})
    # A late duplicate of the delete job (a redelivery, another worker's prefetch). Two open
    # delete jobs cannot coexist (one_exclusive_job_per_tenant), so it appears once the first is done.
    stale = ProvisioningJob.objects.create(tenant=old, kind=JobKind.DELETE)

    assert platform.post("/api/platform/tenants/", new_tenant("p-reborn", server=old.server_id)).status_code == 202
    reborn = platform.wait_status("p-reborn", {"active", "failed"})
    assert reborn["status"] == "active", reborn
    token = platform.tenant_token("p-reborn", "owner@p-reborn.test", "owner-pass-1")
    made = platform.post("/api/projects/", {"name": "Kept", "key": "KEPT"}, tenant="p-reborn", token=token)
    assert made.status_code == 201, made.content

    enqueue_or_fail(delete_tenant, stale.pk)  # the real worker runs the stale job
    wait_for(lambda: _job_status(stale) == JobStatus.FAILED, 60, "the stale delete job to fail")
    assert "refusing to drop" in stale.error and f"tessera-tenant:{old.pk}" in stale.error, stale.error

    new = Tenant.objects.get(slug="p-reborn", status="active")
    assert dbops.database_comment(new.server_id, new.database) == marks.owner_mark(new)
    projects = platform.get("/api/projects/", tenant="p-reborn", token=token)
    assert projects.status_code == 200 and [p["key"] for p in projects.json()["results"]] == ["KEPT"]
    assert Tenant.objects.get(pk=old.pk).status == "deleted"  # the failed stale job touched no tenant


def test_a_refused_deletion_fails_clearly_and_retry_resumes_it(platform: Api) -> None:
    tenant = provision("p-stuck")
    dbops.set_comment(tenant.server_id, tenant.database, "someone-else")
    assert platform.delete("/api/platform/tenants/p-stuck/").status_code == 202
    job = ProvisioningJob.objects.get(tenant=tenant, kind=JobKind.DELETE)
    wait_for(lambda: _job_status(job) == JobStatus.FAILED, 60, "the refused delete job to fail")
    body = platform.get("/api/platform/tenants/p-stuck/").json()
    assert body["status"] == "deleting" and "refusing to drop" in body["error"], body
    assert dbops.database_exists(tenant.server_id, tenant.database)
    assert platform.delete("/api/platform/tenants/p-stuck/").status_code == 409

    dbops.set_comment(tenant.server_id, tenant.database, marks.owner_mark(tenant))
    assert platform.post("/api/platform/tenants/p-stuck/retry/").status_code == 202
    assert platform.wait_status("p-stuck", {"gone"})["status"] == "gone"
    assert not dbops.database_exists(tenant.server_id, tenant.database)
    assert _delete_jobs("p-stuck") == 1


@pytest.mark.parametrize("name", ["tt_p_foreign_tpl", "tt_p_foreign_tpl_build"])
def test_a_template_rebuild_refuses_a_database_not_marked_as_a_template(servers: None, name: str) -> None:
    dbops.create_database("b", name)
    dbops.set_comment("b", name, "tessera-tenant:1")
    with override_settings(TENANT_TEMPLATE_DB="tt_p_foreign_tpl"), pytest.raises(dbops.OwnerMismatch):
        templates.ensure_template("b")
    assert dbops.database_comment("b", name) == "tessera-tenant:1"


def test_production_code_drops_databases_only_after_proving_the_owner_mark() -> None:
    unchecked_drop = re.compile(r"(?<!\w)drop_database\(")
    for package in ("core", "routers", "tenants", "migrations_tooling", "projects"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name != "dbops.py":
                assert not unchecked_drop.search(path.read_text()), path


def _stats_after_two_tasks(platform: Api, slug: str, status: str) -> dict[str, object]:
    token = platform.tenant_token(slug, f"owner@{slug}.test", "owner-pass-1")
    project = platform.post("/api/projects/", {"name": "Main", "key": "MAIN"}, tenant=slug, token=token).json()
    for title in ("one", "two"):
        made = platform.post("/api/tasks/", {"project": project["id"], "title": title, "status": status},
                             tenant=slug, token=token)
        assert made.status_code == 201, made.content
    stats = platform.get(f"/api/projects/{project['id']}/stats/", tenant=slug, token=token)
    assert stats.status_code == 200, stats.content
    return dict(stats.json())


def test_stats_cached_for_a_deleted_tenant_are_not_served_to_its_successor(platform: Api) -> None:
    old = provision("p-cached")
    first = _stats_after_two_tasks(platform, "p-cached", "done")
    assert first["by_status"] == {"done": 2}
    assert platform.delete("/api/platform/tenants/p-cached/").status_code == 202
    platform.wait_status("p-cached", {"gone"})

    assert platform.post("/api/platform/tenants/", new_tenant("p-cached", server=old.server_id)).status_code == 202
    assert platform.wait_status("p-cached", {"active", "failed"})["status"] == "active"
    second = _stats_after_two_tasks(platform, "p-cached", "todo")  # same project id, same stats version
    assert second["by_status"] == {"todo": 2} and second["cached"] is False, second
