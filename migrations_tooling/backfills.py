"""The project's backfills (registered when migrations_tooling is ready)."""

from __future__ import annotations

from typing import Any

from migrations_tooling.backfill import Backfill, register


def _lowercase_tags(tasks: list[Any]) -> None:
    from projects.models import Task

    changed = [t for t in tasks if t.tags != [tag.lower() for tag in t.tags]]
    for task in changed:
        task.tags = sorted({tag.lower() for tag in task.tags})
    Task.objects.bulk_update(changed, ["tags"])


def _tasks() -> Any:
    from projects.models import Task

    return Task.objects.all()


register(Backfill("projects.lowercase-tags", queryset=_tasks, apply=_lowercase_tags, batch_size=500))
