"""Exclusive operations: one move, restore or delete per tenant; retired databases dropped only when still theirs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from core.aliases import CONTROL_ALIAS
from core.locks import LockPurpose, lock_key
from tenants import dbops, operations, retired
from tenants.models import JobKind, JobStatus, ProvisioningJob, RetiredDatabase
from tests.api import Api
from tests.conftest import wait_for
from tests.tenants.conftest import provision


def test_a_second_exclusive_job_is_refused_with_the_one_that_holds_the_tenant(platform: Api) -> None:
    tenant = provision("p-excl")
    first = operations.exclusive_job_create(tenant=tenant, kind=JobKind.MOVE, requested_by="cli:ops")
    with pytest.raises(operations.OperationInProgress) as refused:
        operations.exclusive_job_create(tenant=tenant, kind=JobKind.RESTORE, requested_by="cli:ops")
    assert f"move (job {first.pk})" in str(refused.value.detail)
    assert ProvisioningJob.objects.filter(tenant=tenant, kind=JobKind.RESTORE).count() == 0
    ProvisioningJob.objects.filter(pk=first.pk).update(status=JobStatus.DONE)
    again = operations.exclusive_job_create(tenant=tenant, kind=JobKind.RESTORE, requested_by="cli:ops")
    assert again.requested_by == "cli:ops"


def test_a_delete_during_a_move_is_a_409_and_leaves_the_tenant_active(platform: Api) -> None:
    tenant = provision("p-excl-del")
    operations.exclusive_job_create(tenant=tenant, kind=JobKind.MOVE, requested_by="cli:ops")
    refused = platform.delete("/api/platform/tenants/p-excl-del/")
    assert refused.status_code == 409 and refused.json()["code"] == "operation_in_progress", refused.content
    tenant.refresh_from_db()
    assert tenant.status == "active"
    assert not ProvisioningJob.objects.filter(tenant=tenant, kind=JobKind.DELETE).exists()


def test_the_delete_job_records_who_asked_for_it(platform: Api) -> None:
    provision("p-excl-who")
    assert platform.delete("/api/platform/tenants/p-excl-who/").status_code == 202
    job = ProvisioningJob.objects.get(tenant__slug="p-excl-who", kind=JobKind.DELETE)
    assert job.requested_by.startswith("token:"), job.requested_by


def test_no_exclusive_job_starts_while_a_fleet_run_holds_its_lock(platform: Api) -> None:
    tenant = provision("p-excl-fleet")
    other = connections.create_connection(CONTROL_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", lock_key(LockPurpose.FLEET_RUN))
        assert operations.fleet_run_in_progress()
        with pytest.raises(operations.OperationInProgress, match="fleet migration"):
            operations.exclusive_job_create(tenant=tenant, kind=JobKind.MOVE, requested_by="cli:ops")
    finally:
        other.close()
    # The server releases a closed session's locks asynchronously: poll, never assert at once.
    wait_for(lambda: not operations.fleet_run_in_progress(), 60, "the fleet lock to be released")


def test_the_sweep_drops_a_retired_database_past_its_grace_and_refuses_a_remarked_one(platform: Api) -> None:
    tenant = provision("p-retire", server="b")
    for name in ("t_p_retire_old", "t_p_retire_other"):
        dbops.drop_database("b", name)
        dbops.create_database("b", name)
    kept = retired.database_retire(tenant=tenant, server="b", database="t_p_retire_old", reason=JobKind.MOVE)
    remarked = retired.database_retire(tenant=tenant, server="b", database="t_p_retire_other",
                                       reason=JobKind.RESTORE, grace=timedelta(0))
    dbops.set_comment("b", "t_p_retire_other", "tessera-tenant:999999")  # someone else's now
    assert retired.retired_databases_sweep() == 0  # the first is in its grace period, the second is not ours
    assert dbops.database_exists("b", "t_p_retire_other")
    remarked.refresh_from_db()
    assert "refusing" in remarked.error and remarked.dropped_at is None
    assert retired.retired_databases_sweep(now=timezone.now() + timedelta(days=8)) == 1
    assert not dbops.database_exists("b", "t_p_retire_old")
    kept.refresh_from_db()
    assert kept.dropped_at is not None
    assert RetiredDatabase.objects.filter(dropped_at__isnull=True).count() == 1
    dbops.drop_database("b", "t_p_retire_other")


def test_the_serving_database_cannot_be_retired(platform: Api) -> None:
    tenant = provision("p-retire-live", server="b")
    with pytest.raises(ValueError, match="still serves"):
        retired.database_retire(tenant=tenant, server="b", database=tenant.database, reason=JobKind.MOVE)
