"""The orphan sweep drops leftover tenant databases, never a live or foreign one."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command

from routers import tenant_context
from tenants import dbops, marks, orphans, provisioning, selectors, services, watchdog
from tenants.models import Tenant
from tests.tenants.conftest import provision

LIVE = {"p-keep-act": "active", "p-keep-sus": "suspended", "p-keep-prov": "provisioning"}
GONE = {"p-gone-fail": "failed", "p-gone-del": "deleted", "p-gone-row": None}  # None: no tenant row at all


def test_the_sweep_drops_leftovers_and_never_a_live_database(servers: None, capsys: object) -> None:
    databases = {}
    for i, (slug, status) in enumerate({**LIVE, **GONE}.items()):
        tenant = provision(slug, server="ab"[i % 2])
        databases[slug] = (tenant.server_id, tenant.database)
        if status is None:
            Tenant.objects.filter(pk=tenant.pk).delete()
        else:  # as if the drop that should have followed had failed
            Tenant.objects.filter(pk=tenant.pk).update(status=status)
    dbops.create_database("b", "tt_p_unmarked")  # not made by provisioning: not ours to drop

    listed = orphans.orphan_databases_sweep(dry_run=True)
    assert {(o.server, o.database) for o in listed} == {databases[slug] for slug in GONE}
    assert {o.owner for o in listed} == {"p-gone-fail", "p-gone-del", ""}
    assert all(dbops.database_exists(*databases[slug]) for slug in GONE)  # a dry run drops nothing

    call_command("provisioning_watchdog", "--orphans-only")
    assert "3 orphan database(s) dropped" in capsys.readouterr().out  # type: ignore[attr-defined]
    assert not any(dbops.database_exists(*databases[slug]) for slug in GONE)
    assert all(dbops.database_exists(*databases[slug]) for slug in LIVE)
    assert dbops.database_exists("b", "tt_p_unmarked")
    assert watchdog.provisioning_watchdog()["swept"] == 0


def test_a_new_tenant_never_inherits_a_leftover_database_of_its_name(servers: None) -> None:
    old = provision("p-reuse")
    Tenant.objects.filter(pk=old.pk).update(status="deleted")  # its database was never dropped
    new, _ = services.tenant_create(slug="p-reuse", name="New", admin_email="new@p-reuse.test",
                                    admin_password="owner-pass-1", server="b", enqueue=False)
    assert orphans.orphan_databases_sweep(dry_run=True) == []  # the name is claimed by a live tenant again
    job = selectors.latest_job(tenant=new)
    assert job is not None and provisioning.job_run(job_id=job.pk) == "done"
    assert dbops.database_comment("b", new.database) == marks.owner_mark(new)
    users = get_user_model().objects
    with tenant_context(selectors.tenant_spec(new)):
        assert list(users.values_list("username", flat=True)) == ["new@p-reuse.test"]
