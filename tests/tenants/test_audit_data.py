"""Moves, backups, restores and clones are audited like every other platform action: actor, target, job, refusals."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token

from core.errors import ApiError
from tenants import backups, datajobs, restores, services
from tenants.models import AuditEvent, JobStatus
from tests.tenants.conftest import Api, provision


@pytest.fixture
def admin_api(servers: None) -> Api:
    user = User.objects.create_user("audit-data-admin", password="audit-pw-2", is_staff=True, is_superuser=True)
    return Api(Client(), Token.objects.create(user=user).key)


def only(action: str) -> AuditEvent:
    [event] = AuditEvent.objects.filter(action=action).order_by("id")
    return event


def test_backup_restore_and_move_record_actor_target_and_job(servers: None) -> None:
    tenant = provision("p-aud-data")
    backup = backups.backup_create(tenant=tenant, requested_by="cli:ops", enqueue=False)
    event = only("backup.create")
    assert (event.actor, event.tenant_pk, event.outcome) == ("cli:ops", tenant.pk, "ok")
    assert event.params == {"backup": backup.pk, "job": backup.job_id}
    assert datajobs.data_job_run(job_id=backup.job_id) == JobStatus.DONE

    job = restores.restore_as_new(tenant=tenant, backup_id=backup.pk, slug="p-aud-copy", requested_by="token:ann",
                                  enqueue=False)
    event = only("backup.restore")
    assert (event.actor, event.tenant_slug, event.outcome) == ("token:ann", "p-aud-data", "ok")
    assert event.params == {"flow": "restore_new", "backup_id": backup.pk, "as": "p-aud-copy", "server": "b",
                            "job": job.pk}

    move = services.tenant_move(slug="p-aud-data", server="a", requested_by="token:bob", enqueue=False)
    event = only("tenant.move")
    assert (event.actor, event.tenant_pk, event.params) == ("token:bob", tenant.pk,
                                                            {"job": move.pk, "from": "b", "server": "a"})


def test_refused_data_operations_are_recorded_with_the_code_the_client_got(servers: None) -> None:
    tenant = provision("p-aud-refuse")
    backup = backups.backup_create(tenant=tenant, requested_by="cli:ops", enqueue=False)
    assert datajobs.data_job_run(job_id=backup.job_id) == JobStatus.DONE
    services.tenant_move(slug="p-aud-refuse", server="a", requested_by="token:bob", enqueue=False)
    with pytest.raises(ApiError) as busy:  # the move holds the tenant's one exclusive operation
        restores.restore_in_place(tenant=tenant, backup_id=backup.pk, requested_by="token:ann", enqueue=False)
    with pytest.raises(ApiError):
        restores.clone_create(tenant=tenant, slug="p-aud-refuse", requested_by="token:ann")  # the slug is taken
    with pytest.raises(ApiError):
        restores.restore_as_new(tenant=tenant, backup_id=999999, slug="p-aud-x", requested_by="token:ann")
    refused = list(AuditEvent.objects.filter(outcome="refused").order_by("id"))
    assert [(event.action, event.actor, event.tenant_pk) for event in refused] == [
        ("backup.restore", "token:ann", tenant.pk), ("tenant.clone", "token:ann", tenant.pk),
        ("backup.restore", "token:ann", tenant.pk)]
    assert [event.code for event in refused] == [busy.value.code, "tenant_exists", "not_found"]
    assert refused[0].params == {"backup_id": backup.pk}


def test_a_refused_move_over_http_names_the_token_that_asked(servers: None, admin_api: Api) -> None:
    provision("p-aud-http")
    response = admin_api.post("/api/platform/tenants/p-aud-http/move/", {"server": "b"})
    assert response.status_code == 400 and response.json()["code"] == "validation_error", response.content
    event = only("tenant.move")
    assert (event.actor, event.outcome, event.code) == ("token:audit-data-admin", "refused", "validation_error")
    assert event.params == {"server": "b"}
