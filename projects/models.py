"""The tenant-plane product: projects, their members, tasks, comments, exports.

Every table here lives in each tenant's own database (see DATABASE_PLANES);
users are that tenant's `auth.User` rows, so no foreign key leaves the database.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from projects.querysets import CommentQuerySet, ProjectQuerySet, TaskQuerySet


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


# Roles that may write tasks and comments in a project (viewers only read): the one definition.
WRITER_ROLES = frozenset({Role.ADMIN, Role.MEMBER})


class Project(models.Model):
    name = models.CharField(max_length=200)
    key = models.CharField(
        max_length=10, unique=True,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9]{1,9}$", "2-10 capitals or digits, starting with a letter.")],
    )
    description = models.TextField(blank=True, default="")
    archived = models.BooleanField(default=False)
    # Bumped in the same transaction as every write the statistics count (tasks, members); the
    # stats cache key carries it, so an invalidation can never be lost, not even while Redis is down.
    stats_version = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="ProjectMembership",
                                     related_name="projects")

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["archived", "id"], name="project_archived_idx")]

    def __str__(self) -> str:
        return f"{self.key} {self.name}"


class ProjectMembership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique")]
        indexes = [models.Index(fields=["user", "project"], name="membership_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.project_id}:{self.role}"


class TaskStatus(models.TextChoices):
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


# A task is open until it is done or cancelled: the one definition, used by the stats.
OPEN_TASK_STATUSES = (TaskStatus.TODO, TaskStatus.IN_PROGRESS)


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


class Task(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.TODO)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.MEDIUM)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assigned_tasks")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="reported_tasks")
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    due_date = models.DateField(null=True, blank=True)
    # Kept current by a database trigger (migration 0002): every write path,
    # bulk updates and raw SQL included, refreshes it.
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "status"], name="task_project_status_idx"),
            models.Index(fields=["assignee", "status"], name="task_assignee_status_idx"),
            models.Index(fields=["due_date"], name="task_due_idx"),
            models.Index(fields=["-created_at", "-id"], name="task_created_idx"),
            GinIndex(fields=["tags"], name="task_tags_gin"),
            GinIndex(fields=["search_vector"], name="task_search_gin"),
        ]

    def __str__(self) -> str:
        return self.title


class Comment(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="comments")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["task", "created_at"], name="comment_task_idx")]

    def __str__(self) -> str:
        return f"comment {self.pk} on task {self.task_id}"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Export(models.Model):
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="exports")
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    filters = models.JSONField(default=dict, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=255, blank=True, default="")
    # The CSV itself stays in the tenant's database like every other byte of its data.
    content = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The export watchdog's view: when it was (re)queued, when its run last showed progress,
    # and how many times the watchdog had to queue it again (bounded by EXPORT_MAX_ATTEMPTS).
    queued_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.status})"


class SecurityKind(models.TextChoices):
    SIGNIN = "signin", "Signed in"
    SIGNIN_FAILED = "signin_failed", "Failed sign-in"
    USER_CREATED = "user_created", "User created"
    USER_DEACTIVATED = "user_deactivated", "User deactivated"
    ROLE_CHANGED = "role_changed", "Role changed"


class SecurityEvent(models.Model):
    """A security event of this tenant (append-only: a trigger refuses UPDATE and DELETE, migration 0006).

    Users are copied (id and username), not referenced: the record outlives the user.
    A failed sign-in of an unknown username stores no username, only `subject`, a
    keyed digest that lets admins see repeated attempts without storing what was
    typed (often a password in the wrong field).
    """

    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=SecurityKind.choices)
    user_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True, default="")
    subject = models.CharField(max_length=64, blank=True, default="")
    actor_id = models.BigIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")
    client_ip = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["kind", "-id"], name="security_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.username or self.subject}"
