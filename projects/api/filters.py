"""Task list filters (django-filter) and PostgreSQL full-text search."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from projects.models import Task, TaskStatus


class TaskFilter(django_filters.FilterSet):
    project = django_filters.NumberFilter(field_name="project_id")
    status = django_filters.MultipleChoiceFilter(choices=TaskStatus.choices)
    assignee = django_filters.NumberFilter(field_name="assignee_id")
    tag = django_filters.CharFilter(method="filter_tag")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lt")
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = Task
        fields = ["project", "status", "assignee", "tag", "due_before", "search"]

    def filter_tag(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        return queryset.filter(tags__contains=[value])  # uses the GIN index on tags

    def filter_search(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        return queryset.search(value) if value.strip() else queryset  # type: ignore[attr-defined]

