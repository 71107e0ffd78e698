"""Batched data migrations (backfills) across tenant databases, resumable and throttled.

    # <app>/backfills.py
    BACKFILLS = [Backfill("normalize-tags", queryset=lambda: Task.objects.all(), apply=lowercase_tags)]
    run_backfill("normalize-tags", sleep=0.05)

Each tenant is walked in primary-key order, `batch_size` rows at a time; every
batch commits in the tenant's database and then advances a checkpoint
(`BackfillRecord.last_pk`) in the control plane, so an interrupted backfill
resumes after the last checkpoint. A crash between the two repeats one batch:
`apply` must be idempotent. `sleep` between batches throttles the load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib import import_module

from django.apps import apps
from django.db.models import F
from django.utils.module_loading import module_has_submodule

from core.backfills import Backfill
from migrations_tooling.models import BackfillRecord, RecordStatus
from migrations_tooling.targets import fleet_targets
from routers import TenantSpec, tenant_atomic, tenant_context

REGISTRY: dict[str, Backfill] = {}


def register(backfill: Backfill) -> Backfill:
    """Make `backfill` runnable by name."""
    REGISTRY[backfill.name] = backfill
    return backfill


def discover_backfills() -> None:
    """Register the ``BACKFILLS`` of every installed app's ``backfills`` module."""
    for app in apps.get_app_configs():
        if module_has_submodule(app.module, "backfills"):
            for backfill in getattr(import_module(f"{app.name}.backfills"), "BACKFILLS", ()):
                register(backfill)


def run_backfill(name: str, *, tenants: list[str] | None = None, sleep: float = 0.0,
                 progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Run backfill `name` on every (or the given) tenant; return rows done per tenant."""
    backfill = REGISTRY[name]
    done: dict[str, int] = {}
    for target in fleet_targets(tenants=tenants or (), with_templates=False):
        record, _ = BackfillRecord.objects.get_or_create(name=name, tenant=target.label)
        if record.status == RecordStatus.DONE:
            done[target.label] = record.rows_done
            continue
        spec = TenantSpec(target.label, target.server, target.database)
        done[target.label] = _run_on_tenant(backfill, spec, record, sleep, progress)
    return done


def _run_on_tenant(backfill: Backfill, spec: TenantSpec, record: BackfillRecord, sleep: float,
                   progress: Callable[[str, int], None] | None) -> int:
    BackfillRecord.objects.filter(pk=record.pk).update(status=RecordStatus.RUNNING, error="")
    last_pk = record.last_pk
    try:
        while True:
            with tenant_context(spec):
                batch = list(backfill.queryset().filter(pk__gt=last_pk).order_by("pk")[: backfill.batch_size])
                if not batch:
                    break
                with tenant_atomic():
                    backfill.apply(batch)
            last_pk = batch[-1].pk
            BackfillRecord.objects.filter(pk=record.pk).update(last_pk=last_pk,
                                                               rows_done=F("rows_done") + len(batch))
            if progress:
                progress(spec.slug, len(batch))
            if sleep:
                time.sleep(sleep)
    except Exception as exc:
        BackfillRecord.objects.filter(pk=record.pk).update(status=RecordStatus.FAILED, error=str(exc)[:2000])
        raise
    BackfillRecord.objects.filter(pk=record.pk).update(status=RecordStatus.DONE)
    return BackfillRecord.objects.get(pk=record.pk).rows_done
