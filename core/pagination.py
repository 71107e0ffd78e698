"""Cursor pagination on keys for every list of the tenant and platform APIs.

Pages are stable under concurrent writes and cost the same at any depth.

The cursor carries the whole sort key of the row it was taken from (every
ordering field plus the unique id, see `core.keyset`), so a page is
one `WHERE key > cursor ORDER BY key LIMIT n` at any depth. DRF's own
CursorPagination positions on the first ordering field only and counts ties
with an offset capped at 1000, which breaks on coarse fields like `priority`
and cannot express NULL; its link format, parameters and response shape are
kept here.
"""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.filters import SearchFilter
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core import keyset

EXAMPLE_NEXT = "https://acme.example.com/api/tasks/?cursor=eyJ2IjpbNDJdLCJyIjpmYWxzZX0"


class IdCursorPagination(CursorPagination):
    ordering: str | tuple[str, ...] = "id"
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        """Return the requested page size; anything but a whole number in 1..max_page_size is a 400."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return cast(int, self.page_size)
        size = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                f"A whole number from 1 to {self.max_page_size}."]})
        return size

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        """Return one page after (or, walking back, before) the cursor's row."""
        self.request, self.base_url = request, request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self.fields = keyset.sort_fields(queryset, self.get_ordering(request, queryset, view))
        raw = request.query_params.get(self.cursor_query_param)
        values, reverse = keyset.decode(self.fields, raw) if raw is not None else (None, False)
        queryset = queryset.order_by(*(field.order(reverse=reverse) for field in self.fields))
        if values is not None:
            queryset = queryset.filter(keyset.after(self.fields, values, reverse=reverse))
        rows = list(queryset[: self.page_size + 1])
        more, self.page = len(rows) > self.page_size, rows[: self.page_size]
        if reverse:
            self.page.reverse()
        # Walking back, the cursor's row follows this page; walking forward, it precedes it.
        self.has_next, self.has_previous = (True, more) if reverse else (more, values is not None)
        return self.page

    def get_paginated_response_schema(self, schema: Any) -> dict[str, Any]:
        """Return the page envelope's schema, with a link like ours (not DRF's placeholder) as example."""
        envelope = cast(dict[str, Any], super().get_paginated_response_schema(schema))
        envelope["properties"]["next"]["example"] = EXAMPLE_NEXT
        envelope["properties"]["previous"]["example"] = None
        return envelope

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        if not self.page:  # walked back past the first row: the list starts over
            return remove_query_param(str(self.base_url), self.cursor_query_param)
        return self._link(self.page[-1], reverse=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous or not self.page:
            return None
        return self._link(self.page[0], reverse=True)

    def _link(self, row: Any, *, reverse: bool) -> str:
        cursor = keyset.encode(self.fields, keyset.key_of(row, self.fields), reverse=reverse)
        return replace_query_param(str(self.base_url), self.cursor_query_param, cursor)


def filtered_page(request: Request, view: Any, queryset: QuerySet[Any], filterset: type[django_filters.FilterSet],
                  serializer: Any) -> Response:
    """Return one page of `queryset` filtered by `filterset` and `view.search_fields`, in the page envelope.

    The view names its `pagination_class` (drf-spectacular documents the envelope from it).
    """
    filtered = filterset(request.query_params, queryset=queryset, request=request)
    if not filtered.is_valid():
        raise ValidationError(filtered.errors)
    rows = SearchFilter().filter_queryset(request, filtered.qs, view)
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(rows, request, view)
    return paginator.get_paginated_response(serializer(page, many=True).data)
