"""Reads of the product, including the cached project statistics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from projects.models import OPEN_TASK_STATUSES, Comment, Export, ExportStatus, Project, ProjectMembership, Task

STATS_TIMEOUT = 300


def projects_for(*, user: Any) -> QuerySet[Project]:
    """Projects `user` can see, with their role on each, in one query."""
    role = ProjectMembership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return Project.objects.visible_to(user).annotate(my_role=Subquery(role)).order_by("id")


def users_for(*, user: Any) -> QuerySet[Any]:
    """The tenant's users `user` may see: everyone active; tenant admins also see deactivated users."""
    users = get_user_model().objects.order_by("id")
    # Admins also see deactivated users, so they can reactivate them.
    return users if user.is_staff else users.filter(is_active=True)


def user_exists(*, user_id: int) -> bool:
    return bool(get_user_model().objects.filter(pk=user_id).exists())


def project_members(*, project: Project) -> list[dict[str, Any]]:
    """Return the project's members as `{"user", "role"}` rows, by user id."""
    rows = ProjectMembership.objects.filter(project=project).order_by("user_id").values("user", "role")
    return [dict(row) for row in rows]


def project_access(*, user: Any, project: Project) -> tuple[bool, str | None]:
    """Return whether `user` sees `project` and their role on it, in one query."""
    visible: QuerySet[Any] = projects_for(user=user).filter(pk=project.pk)
    roles = list(visible.values_list("my_role", flat=True)[:1])
    return bool(roles), roles[0] if roles else None


def is_project_member(*, project: Project, user: Any) -> bool:
    return bool(project.memberships.filter(user=user).exists())


def task_comments(*, task: Task) -> QuerySet[Comment]:
    return Comment.objects.for_list().filter(task=task)


def exports_for(*, user: Any) -> QuerySet[Export]:
    """Exports `user` may see (their own; tenant admins see all), without the file content."""
    exports = Export.objects.defer("content").order_by("id")
    return exports if user.is_staff else exports.filter(requested_by_id=user.pk)


def export_content(*, export: Export) -> str:
    """Return the CSV of a finished export (kept out of the list and detail queries)."""
    content: str = Export.objects.values_list("content", flat=True).get(pk=export.pk)
    return content


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


def _today() -> date:
    return timezone.localdate()


def stalled_exports(*, before: datetime) -> QuerySet[Export]:
    """Exports of the current tenant queued, or last showing progress, before `before`."""
    queued = Q(status=ExportStatus.QUEUED, queued_at__lt=before)
    running = Q(status=ExportStatus.RUNNING) & (Q(heartbeat_at__lt=before) | Q(heartbeat_at__isnull=True,
                                                                                queued_at__lt=before))
    return Export.objects.filter(queued | running).order_by("id")
