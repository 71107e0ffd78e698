"""Backfills resume after an interruption."""

from __future__ import annotations

import pytest

from core.backfills import Backfill
from migrations_tooling.backfill import REGISTRY, register, run_backfill
from migrations_tooling.models import BackfillRecord
from projects.backfills import BACKFILLS
from projects.models import Task
from routers import tenant_context
from tests.factories import TaskFactory
from tests.projects.conftest import TenantWorld


def test_a_backfill_resumes_from_its_checkpoint_after_an_interruption(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    with tenant_context(alpha.spec):
        TaskFactory.create_batch(9, project=alpha.project, tags=["UX", "Bug"])
    calls = {"batches": 0}

    def lowercase(batch: list[Task]) -> None:
        calls["batches"] += 1
        if calls["batches"] == 3:
            raise RuntimeError("worker lost")  # interrupted mid-way
        for task in batch:
            task.tags = [t.lower() for t in task.tags]
        Task.objects.bulk_update(batch, ["tags"])

    register(Backfill("test.lowercase", queryset=lambda: Task.objects.all(), apply=lowercase, batch_size=3))
    with pytest.raises(RuntimeError):
        run_backfill("test.lowercase", tenants=["alpha"])
    record = BackfillRecord.objects.get(name="test.lowercase", tenant="alpha")
    assert record.status == "failed" and record.rows_done == 6 and "worker lost" in record.error
    assert run_backfill("test.lowercase", tenants=["alpha"]) == {"alpha": 10}
    assert calls["batches"] == 3 + 2  # resumed after the checkpoint: batches 1-2 were not redone
    with tenant_context(alpha.spec):
        assert all(t.tags == [x.lower() for x in t.tags] for t in Task.objects.all())
    assert run_backfill("test.lowercase", tenants=["alpha"]) == {"alpha": 10}  # done stays done


def test_product_backfills_are_discovered_from_the_apps_backfills_module() -> None:
    assert [REGISTRY[b.name] for b in BACKFILLS] == BACKFILLS
