"""Cursor pagination: stable pages under concurrent writes, constant cost per page."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 100


class TaskCursorPagination(IdCursorPagination):
    """Newest first; a full-text search is ordered by relevance instead."""

    ordering = ("-created_at", "-id")

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        if request.query_params.get("search", "").strip():
            return ("-rank", "-id")
        ordering = tuple(super().get_ordering(request, queryset, view))
        if not {"id", "-id"} & set(ordering):
            # A unique tiebreaker makes pages deterministic over non-unique fields.
            ordering += ("-id" if ordering[0].startswith("-") else "id",)
        return ordering
