"""Writes of the product: projects, members, tasks, comments, exports, users.

All run inside the request's (or task's) tenant context; transactions name
the tenant database through `tenant_atomic()`.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.db.models import F
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core import metrics
from core.errors import Conflict, InvalidInput
from core.metering import usage_note
from core.queue import enqueue_or_fail
from projects import limits, selectors
from projects.errors import ProductErrorCode
from projects.models import WRITER_ROLES, Comment, Export, ExportStatus, Project, ProjectMembership, Role, Task
from projects.security import SecurityKind, security_event_record
from routers import tenant_atomic, tenant_on_commit

logger = logging.getLogger("tessera.exports")

EXPORT_BATCH = 500
# The export task by name: projects.tasks imports this module, not the reverse.
RUN_EXPORT = "projects.run_export"
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_COLUMNS = ["id", "project", "title", "status", "priority", "assignee", "tags", "due_date", "created_at"]


def user_create(*, username: str, password: str, email: str = "", is_admin: bool = False,
                first_name: str = "", last_name: str = "", actor: Any = None) -> Any:
    """Create a tenant user; a taken username is 409, even when two requests race for it."""
    # The unique index decides, not a prior SELECT: that would let a concurrent twin through.
    try:
        with tenant_atomic():
            limits.quota_check("max_users", get_user_model().objects.filter(is_active=True).count)
            user = get_user_model().objects.create_user(
                username=username, password=password, email=email, is_staff=is_admin,
                first_name=first_name, last_name=last_name)
            security_event_record(kind=SecurityKind.USER_CREATED, user=user, actor=actor,
                                  detail={"is_admin": is_admin})
            return user
    except IntegrityError:
        raise Conflict(f"User '{username}' already exists.", code=ProductErrorCode.USER_EXISTS) from None


def user_update(*, user: Any, actor: Any, is_admin: bool | None = None, is_active: bool | None = None,
                **fields: Any) -> Any:
    """Change a user's details, admin role or active flag; deactivating revokes their tokens."""
    if user.pk == actor.pk and (is_admin is False or is_active is False):
        field = "is_admin" if is_admin is False else "is_active"
        raise InvalidInput("Admins cannot demote or deactivate themselves.",
                       fields={field: ["Ask another admin to do this."]})
    reactivating = bool(is_active) and not user.is_active
    changes = {**fields, **_given(is_staff=is_admin, is_active=is_active)}
    for name, value in changes.items():
        setattr(user, name, value)
    with tenant_atomic():
        if reactivating:  # an active user again counts against the plan's users
            limits.quota_check("max_users", get_user_model().objects.filter(is_active=True).count)
        if changes:
            user.save(update_fields=list(changes))
        if is_active is False:
            Token.objects.filter(user=user).delete()
            security_event_record(kind=SecurityKind.USER_DEACTIVATED, user=user, actor=actor)
        if is_admin is not None:
            security_event_record(kind=SecurityKind.ROLE_CHANGED, user=user, actor=actor,
                                  detail={"is_admin": is_admin})
    return user


def _given(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def project_create(*, creator: Any, name: str, key: str, description: str = "") -> Project:
    """Create a project; its creator becomes its admin."""
    try:
        with tenant_atomic():
            limits.quota_check("max_projects", Project.objects.count)
            project = Project.objects.create(name=name, key=key, description=description)
            ProjectMembership.objects.create(project=project, user=creator, role=Role.ADMIN)
    except IntegrityError:
        raise Conflict(f"A project with key '{key}' already exists.", code=ProductErrorCode.PROJECT_EXISTS) from None
    return project


def project_update(*, project: Project, **fields: Any) -> Project:
    for name, value in fields.items():
        setattr(project, name, value)
    try:
        with tenant_atomic():
            project.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise Conflict("A project with that key already exists.", code=ProductErrorCode.PROJECT_EXISTS) from None
    return project


def project_delete(*, project: Project) -> None:
    with tenant_atomic():
        project.delete()


def membership_set(*, project: Project, user_id: int, role: str | None, actor: Any = None) -> None:
    """Add, change or (role None) remove a member."""
    if not selectors.user_exists(user_id=user_id):
        raise InvalidInput("No such user.", fields={"user": ["No such user."]})
    with tenant_atomic():
        if role is None:
            ProjectMembership.objects.filter(project=project, user_id=user_id).delete()
        else:
            ProjectMembership.objects.update_or_create(project=project, user_id=user_id, defaults={"role": role})
        security_event_record(kind=SecurityKind.ROLE_CHANGED, user_id=user_id, actor=actor,
                              detail={"project": project.pk, "role": role})
        _stats_changed(project.pk)  # the stats count members


def _task_placement_check(*, actor: Any, project: Project | None) -> None:
    """Refuse a task in a project `actor` cannot see, or only views."""
    if project is not None:
        visible, role = selectors.project_access(user=actor, project=project)
        if not visible:  # a project the actor cannot see is answered like a missing one
            raise InvalidInput("project: No such project.", fields={"project": ["No such project."]})
        if not actor.is_staff and role not in WRITER_ROLES:
            problem = "Viewers cannot add tasks to this project."
            raise InvalidInput(f"project: {problem}", fields={"project": [problem]})


def _assignee_check(*, project: Project, assignee: Any) -> None:
    if assignee is not None and not (assignee.is_staff or selectors.is_project_member(project=project,
                                                                                        user=assignee)):
        problem = "The assignee must be a member of the project."
        raise InvalidInput(f"assignee: {problem}", fields={"assignee": [problem]})


def task_create(*, reporter: Any, **fields: Any) -> Task:
    """Create a task; the reporter must write in its project, the assignee be one of its members."""
    _task_placement_check(actor=reporter, project=fields.get("project"))
    _assignee_check(project=fields["project"], assignee=fields.get("assignee"))
    with tenant_atomic():
        task = Task.objects.create(reporter=reporter, **fields)
        _stats_changed(task.project_id)
    return Task.objects.for_list().get(pk=task.pk)


def task_update(*, task: Task, actor: Any, **fields: Any) -> Task:
    """Change a task; a move to another project and a new assignee follow `task_create`'s rules."""
    if "project" in fields:
        _task_placement_check(actor=actor, project=fields["project"])
    _assignee_check(project=fields.get("project") or task.project, assignee=fields.get("assignee"))
    old_project = task.project_id
    for name, value in fields.items():
        setattr(task, name, value)
    with tenant_atomic():
        task.save(update_fields=[*fields, "updated_at"])
        _stats_changed(old_project, task.project_id)
    return Task.objects.for_list().get(pk=task.pk)


def task_delete(*, task: Task) -> None:
    with tenant_atomic():
        _stats_changed(task.project_id)
        task.delete()


def _stats_changed(*project_ids: int) -> None:
    """Move the projects' stats to a new cache key, inside the caller's transaction."""
    Project.objects.filter(pk__in=set(project_ids)).update(stats_version=F("stats_version") + 1)


def comment_create(*, task: Task, author: Any, body: str) -> Comment:
    with tenant_atomic():
        comment = Comment.objects.create(task=task, author=author, body=body)
    return Comment.objects.for_list().get(pk=comment.pk)


def export_request(*, user: Any, filters: dict[str, Any]) -> Export:
    """Record an export and queue it once the row is committed.

    With the broker down the row is deleted again and the request fails with
    503 `queue_unavailable`: an export nobody will ever run is never left `queued`.
    """
    def forget() -> None:
        Export.objects.filter(pk=export.pk).delete()

    limits.export_size_check(selectors.tasks_for_export(user=user, filters=filters).count())
    with tenant_atomic():
        export = Export.objects.create(requested_by=user, filters=filters)
        tenant_on_commit(lambda: enqueue_or_fail(RUN_EXPORT, export.pk, undo=forget))
    usage_note("exports")
    return export


def export_run(*, export_id: int) -> Export:
    """Write the CSV of the tasks the requester may see, in batches, reporting progress."""
    export = Export.objects.select_related("requested_by").get(pk=export_id)
    if export.status == ExportStatus.DONE:
        return export
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, heartbeat_at=timezone.now())
    try:
        content, total = _export_csv(export)
    except Exception as exc:
        Export.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED, error=str(exc)[:2000],
                                                   finished_at=timezone.now())
        _export_metrics(export, ExportStatus.FAILED)
        raise
    Export.objects.filter(pk=export.pk).update(
        status=ExportStatus.DONE, content=content, rows_done=total, rows_total=total,
        file_name=f"tasks-{date.today().isoformat()}-{export.pk}.csv", finished_at=timezone.now())
    _export_metrics(export, ExportStatus.DONE)
    export.refresh_from_db()
    return export


def _export_metrics(export: Export, outcome: str) -> None:
    seconds = max((timezone.now() - export.created_at).total_seconds(), 0.0)
    metrics.record(lambda: metrics.child(metrics.EXPORTS, outcome).inc())
    metrics.record(lambda: metrics.child(metrics.EXPORT_DURATION, outcome).observe(seconds))


def _export_csv(export: Export) -> tuple[str, int]:
    tasks = selectors.tasks_for_export(user=export.requested_by, filters=export.filters)
    total = tasks.count()
    limits.export_size_check(total)  # the tasks may have grown since the request
    Export.objects.filter(pk=export.pk).update(rows_total=total)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    done, last_id = 0, 0
    while True:
        batch = list(tasks.filter(id__gt=last_id).order_by("id")[:EXPORT_BATCH])
        if not batch:
            break
        for task in batch:
            writer.writerow([_cell(value) for value in (
                task.pk, task.project.key, task.title, task.status, task.priority,
                task.assignee.username if task.assignee else "", " ".join(task.tags),
                task.due_date or "", task.created_at.isoformat())])
        done, last_id = done + len(batch), batch[-1].pk
        Export.objects.filter(pk=export.pk).update(rows_done=done, heartbeat_at=timezone.now())
    return buffer.getvalue(), done


def _cell(value: object) -> str:
    """Return `value` as CSV text that a spreadsheet shows as text, never runs as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text
