"""Query sets for the common reads of the product API."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import models
from django.db.models import Count, F, Q


class ProjectQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> ProjectQuerySet:
        """Projects `user` is a member of (staff of the tenant see every project)."""
        if user.is_staff:
            return self
        return self.filter(memberships__user=user)

    def active(self) -> ProjectQuerySet:
        return self.filter(archived=False)

    def with_task_counts(self) -> ProjectQuerySet:
        return self.annotate(task_count=Count("tasks", distinct=True))


class TaskQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> TaskQuerySet:
        if user.is_staff:
            return self
        return self.filter(project__memberships__user=user)

    def for_list(self) -> TaskQuerySet:
        """Everything a task list renders, in a constant number of queries."""
        return self.select_related("project", "assignee", "reporter")

    def search(self, text: str) -> TaskQuerySet:
        """Full-text match on title (weight A) and description (weight B), best first."""
        query = SearchQuery(text, search_type="websearch", config="english")
        return (self.filter(search_vector=query)
                .annotate(rank=SearchRank(F("search_vector"), query))
                .order_by("-rank", "-id"))

    def open(self) -> TaskQuerySet:
        return self.filter(Q(status="todo") | Q(status="in_progress"))


class CommentQuerySet(models.QuerySet):
    def for_list(self) -> CommentQuerySet:
        return self.select_related("author")
