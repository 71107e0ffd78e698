"""The product's backfills, discovered by `migrations_tooling` (see `core.backfills`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.backfills import Backfill
from projects.models import Task


def _lowercase_tags(tasks: list[Any]) -> None:
    changed = [t for t in tasks if t.tags != [tag.lower() for tag in t.tags]]
    for task in changed:
        task.tags = sorted({tag.lower() for tag in task.tags})
    Task.objects.bulk_update(changed, ["tags"])


def _tasks() -> QuerySet[Task]:
    return Task.objects.all()


BACKFILLS = [Backfill("projects.lowercase-tags", queryset=_tasks, apply=_lowercase_tags, batch_size=500)]
