"""The export watchdog: stuck exports are queued again or failed clearly, through beat's fan-out and a real worker."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.queue import enqueue_or_fail
from projects.models import Export
from routers import tenant_context
from tenants import fanout, selectors
from tenants.tasks import tenant_fanout
from tests.api import Api
from tests.tenants.conftest import provision, wait_for

LONG_AGO = timedelta(hours=1)  # stalled by any EXPORT_STALL_SECONDS: no waiting on the clock


def _tenant_with_a_task(platform: Api, slug: str) -> None:
    provision(slug)
    token = platform.tenant_token(slug, f"owner@{slug}.test", "owner-pass-1")
    project = platform.post("/api/projects/", {"name": "Main", "key": "MAIN"}, tenant=slug, token=token).json()
    made = platform.post("/api/tasks/", {"project": project["id"], "title": "ship"}, tenant=slug, token=token)
    assert made.status_code == 201, made.content


def _export(slug: str, **state: object) -> int:
    spec = selectors.tenant_spec(selectors.tenant_get(slug=slug))  # type: ignore[arg-type]
    with tenant_context(spec):
        owner = get_user_model().objects.get(username=f"owner@{slug}.test")
        export = Export.objects.create(requested_by=owner, filters={})
        Export.objects.filter(pk=export.pk).update(**state)
        return int(export.pk)


def _state(slug: str, export_id: int) -> Export:
    spec = selectors.tenant_spec(selectors.tenant_get(slug=slug))  # type: ignore[arg-type]
    with tenant_context(spec):
        return Export.objects.get(pk=export_id)


def _watchdog_round() -> None:
    enqueue_or_fail(tenant_fanout, "projects.export_watchdog")  # what Celery beat sends


def test_an_export_queued_before_a_suspension_is_run_after_the_resume(platform: Api) -> None:
    _tenant_with_a_task(platform, "p-exp")
    assert platform.post("/api/platform/tenants/p-exp/suspend/").status_code == 200
    # Queued just before the suspension: the worker refused it (unknown or inactive tenant).
    export_id = _export("p-exp", queued_at=timezone.now() - LONG_AGO)
    assert fanout.tenants_fanout(task="projects.export_watchdog") == 0  # a suspended tenant is not visited
    assert _state("p-exp", export_id).status == "queued"

    assert platform.post("/api/platform/tenants/p-exp/resume/").status_code == 200
    _watchdog_round()
    wait_for(lambda: _state("p-exp", export_id).status == "done", 120, "the export to be run after the resume")
    export = _state("p-exp", export_id)
    assert export.attempts == 1 and export.rows_done == 1


def test_an_export_whose_worker_died_is_run_again_then_failed_when_out_of_attempts(platform: Api) -> None:
    _tenant_with_a_task(platform, "p-exk")
    stale = timezone.now() - LONG_AGO
    orphaned = _export("p-exk", status="running", heartbeat_at=stale, queued_at=stale)  # a kill -9 mid-run
    hopeless = _export("p-exk", status="running", heartbeat_at=stale, queued_at=stale,
                       attempts=settings.EXPORT_MAX_ATTEMPTS)
    fresh = _export("p-exk", status="running", heartbeat_at=timezone.now())  # alive: left alone
    _watchdog_round()
    wait_for(lambda: _state("p-exk", orphaned).status == "done", 120, "the orphaned export to be run again")
    wait_for(lambda: _state("p-exk", hopeless).status == "failed", 120, "the hopeless export to fail")
    failed = _state("p-exk", hopeless)
    assert "stalled" in failed.error and "request a new export" in failed.error
    assert failed.attempts == settings.EXPORT_MAX_ATTEMPTS
    assert _state("p-exk", orphaned).attempts == 1
    assert _state("p-exk", fresh).status == "running"
