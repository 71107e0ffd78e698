"""Reads of the product, including the cached project statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from projects.models import OPEN_TASK_STATUSES, Export, ExportStatus, Project, ProjectMembership, Task

STATS_TIMEOUT = 300


def projects_for(*, user: Any) -> QuerySet[Project]:
    """Projects `user` can see, with their role on each, in one query."""
    role = ProjectMembership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return Project.objects.visible_to(user).annotate(my_role=Subquery(role)).order_by("id")


def tasks_for(*, user: Any) -> QuerySet[Task]:
    role = ProjectMembership.objects.filter(project=OuterRef("project_id"), user=user).values("role")[:1]
    return (Task.objects.visible_to(user).for_list()
            .annotate(my_role=Subquery(role), comment_count=Count("comments", distinct=True)))


def tasks_for_export(*, user: Any, filters: dict[str, Any]) -> QuerySet[Task]:
    tasks = Task.objects.visible_to(user).select_related("project", "assignee") if user else Task.objects.none()
    if filters.get("project"):
        tasks = tasks.filter(project_id=filters["project"])
    if filters.get("status"):
        tasks = tasks.filter(status=filters["status"])
    return tasks


def _stats_key(project: Project) -> str:
    # The version moves with every counted write (services._stats_changed): no delete to lose.
    return f"project-stats:{project.pk}:v{project.stats_version}"


def project_stats(*, project: Project) -> dict[str, Any]:
    """Task counts by status and priority; cached per tenant, recomputed when missing."""
    cached = cache.get(_stats_key(project))
    if cached is not None:
        return {**cached, "cached": True}
    by_status = dict(project.tasks.values_list("status").annotate(n=Count("id")).order_by())
    aggregates = project.tasks.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status__in=OPEN_TASK_STATUSES)),
        overdue=Count("id", filter=Q(status__in=OPEN_TASK_STATUSES, due_date__lt=_today())),
        unassigned=Count("id", filter=Q(assignee__isnull=True)),
    )
    members = project.memberships.count()
    stats = {"project": project.pk, "by_status": by_status, **aggregates, "members": members}
    cache.set(_stats_key(project), stats, STATS_TIMEOUT)
    return {**stats, "cached": False}


def _today() -> Any:
    from django.utils import timezone

    return timezone.localdate()


def stalled_exports(*, before: datetime) -> QuerySet[Export]:
    """Exports of the current tenant queued, or last showing progress, before `before`."""
    queued = Q(status=ExportStatus.QUEUED, queued_at__lt=before)
    running = Q(status=ExportStatus.RUNNING) & (Q(heartbeat_at__lt=before) | Q(heartbeat_at__isnull=True,
                                                                                queued_at__lt=before))
    return Export.objects.filter(queued | running).order_by("id")
