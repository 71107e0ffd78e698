"""Query sets for the common reads of the product API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import models
from django.db.models import F, FloatField
from django.db.models.functions import Cast

if TYPE_CHECKING:
    from projects.models import Comment, Project, Task  # noqa: F401 (named in the bases below)


class ProjectQuerySet(models.QuerySet["Project"]):
    def visible_to(self, user: Any) -> ProjectQuerySet:
        """Projects `user` is a member of (staff of the tenant see every project)."""
        if user.is_staff:
            return self
        return self.filter(memberships__user=user)

    def active(self) -> ProjectQuerySet:
        return self.filter(archived=False)


class TaskQuerySet(models.QuerySet["Task"]):
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
        # ts_rank is a float4, which does not survive a text round trip exactly; as a double
        # it does, so a page cursor holding the rank finds its row again.
        rank = Cast(SearchRank(F("search_vector"), query), FloatField())
        return (self.filter(search_vector=query)
                .annotate(rank=rank)
                .order_by("-rank", "-id"))


class CommentQuerySet(models.QuerySet["Comment"]):
    def for_list(self) -> CommentQuerySet:
        return self.select_related("author")
