"""Task pagination: newest first, or by relevance for a full-text search (see core.pagination)."""

from __future__ import annotations

from typing import Any

from core.pagination import IdCursorPagination


class TaskCursorPagination(IdCursorPagination):
    """Newest first; a full-text search is ordered by relevance instead."""

    ordering = ("-created_at", "-id")

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        if request.query_params.get("search", "").strip():
            return ("-rank", "-id")
        return tuple(super().get_ordering(request, queryset, view))
