"""Serializers of the tenant product API (writes go through projects.services)."""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.urls import reverse
from rest_framework import serializers

from projects.models import Comment, Export, ExportStatus, Priority, Project, Role, Task, TaskStatus


class UserSerializer(serializers.ModelSerializer):
    is_admin = serializers.BooleanField(source="is_staff", read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name", "is_admin", "is_active"]
        read_only_fields = fields


class UserUpdateSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    is_admin = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    password = serializers.CharField(min_length=8, max_length=128, write_only=True)
    email = serializers.EmailField(required=False, default="")
    first_name = serializers.CharField(required=False, default="", max_length=150)
    last_name = serializers.CharField(required=False, default="", max_length=150)
    is_admin = serializers.BooleanField(required=False, default=False)


MAX_DESCRIPTION = 20_000  # characters of a project or task description
MAX_COMMENT = 10_000  # characters of a comment


class BoundedListField(serializers.ListField):
    """A ListField that refuses an over-long list before validating a single item.

    DRF validates every item first and checks the length last: a body with
    600,000 tags would cost seconds of CPU before being refused.
    """

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class ProjectSerializer(serializers.ModelSerializer):
    my_role = serializers.CharField(read_only=True, allow_null=True)
    # Uniqueness is answered with 409 by the service, not as a 400 here.
    key = serializers.RegexField(r"^[A-Z][A-Z0-9]{1,9}$", max_length=10, error_messages={
        "invalid": "2-10 capitals or digits, starting with a letter."})

    class Meta:
        model = Project
        fields = ["id", "name", "key", "description", "archived", "my_role", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"description": {"max_length": MAX_DESCRIPTION}}


class MemberSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    role = serializers.ChoiceField(choices=Role.choices, allow_null=True)


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class CustomFieldsField(serializers.DictField):
    """A JSON object PostgreSQL's jsonb accepts: no NUL or lone surrogate, finite numbers, bounded."""

    max_depth = 8
    max_bytes = 16_384
    max_keys = 200

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict) and len(data) > self.max_keys:  # before walking every key
            raise serializers.ValidationError(f"Keep custom fields under {self.max_keys} keys.")
        value = super().to_internal_value(data)
        problem = _jsonb_problem(value, self.max_depth)
        if problem is None and len(json.dumps(value)) > self.max_bytes:
            problem = f"Keep custom fields under {self.max_bytes} bytes of JSON."
        if problem:
            raise serializers.ValidationError(problem)
        return value


def _jsonb_problem(value: Any, depth: int) -> str | None:
    """Return why jsonb would refuse `value` (or the API does, past `depth` levels), or None."""
    if depth < 0:
        return "Custom fields are nested too deeply."
    if isinstance(value, dict):
        return next(filter(None, (_jsonb_problem(item, depth - 1) for pair in value.items() for item in pair)),
                    None)
    if isinstance(value, list):
        return next(filter(None, (_jsonb_problem(item, depth - 1) for item in value)), None)
    if isinstance(value, float) and not math.isfinite(value):
        return "Numbers must be finite."
    if isinstance(value, str):
        if "\x00" in value:
            return "Null characters are not allowed."
        if any("\ud800" <= char <= "\udfff" for char in value):
            return "Surrogate characters are not allowed."
    return None


class TaskSerializer(serializers.ModelSerializer):
    project_key = serializers.CharField(source="project.key", read_only=True)
    assignee_detail = UserRefSerializer(source="assignee", read_only=True, allow_null=True)
    reporter = UserRefSerializer(read_only=True, allow_null=True)
    comment_count = serializers.IntegerField(read_only=True, default=0)
    status = serializers.ChoiceField(choices=TaskStatus.choices, default=TaskStatus.TODO)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.MEDIUM)
    tags = BoundedListField(child=serializers.RegexField(r"^[\w-]{1,50}$"), max_length=20,
                            required=False, default=list)
    custom_fields = CustomFieldsField(required=False, default=dict)

    class Meta:
        model = Task
        fields = ["id", "project", "project_key", "title", "description", "status", "priority", "assignee",
                  "assignee_detail", "reporter", "tags", "custom_fields", "due_date", "comment_count",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"description": {"max_length": MAX_DESCRIPTION}}


class CommentSerializer(serializers.ModelSerializer):
    author = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Comment
        fields = ["id", "task", "author", "body", "created_at"]
        read_only_fields = ["id", "task", "author", "created_at"]
        extra_kwargs = {"body": {"max_length": MAX_COMMENT}}


class ExportSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = ["id", "status", "filters", "rows_done", "rows_total", "progress", "file_name", "error",
                  "created_at", "finished_at", "download_url"]
        read_only_fields = fields

    def get_progress(self, export: Export) -> float:
        if export.status == ExportStatus.DONE:
            return 1.0
        return round(export.rows_done / export.rows_total, 3) if export.rows_total else 0.0

    def get_download_url(self, export: Export) -> str | None:
        if export.status != ExportStatus.DONE:
            return None
        return reverse("export-download", kwargs={"pk": export.pk}, urlconf=settings.TENANT_URLCONF)


class ExportRequestSerializer(serializers.Serializer):
    project = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)


class CommentPageSerializer(serializers.Serializer):
    """A page of comments (schema only: the view builds it through the paginator)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CommentSerializer(many=True)


class StatsSerializer(serializers.Serializer):
    """Task statistics of a project (schema only: `selectors.project_stats` builds them)."""

    project = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField(), help_text="Task count per status.")
    total = serializers.IntegerField()
    open = serializers.IntegerField(help_text="To do or in progress.")
    overdue = serializers.IntegerField(help_text="Open and due before today.")
    unassigned = serializers.IntegerField()
    members = serializers.IntegerField()
    cached = serializers.BooleanField(help_text="Served from the cache.")
