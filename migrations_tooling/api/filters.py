"""Filters and pages of the platform's migration-run list (the tenant API's page envelope)."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter

from core.pagination import IdCursorPagination
from migrations_tooling.models import MigrationRun, RunStatus


class RunFilter(django_filters.FilterSet):
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = MigrationRun
        fields = ["status", "requested_by", "created_after", "created_before"]


class RunPagination(IdCursorPagination):
    ordering = ("-id",)


PARAMETERS = [
    OpenApiParameter("status", str, enum=RunStatus.values), OpenApiParameter("requested_by", str),
    OpenApiParameter("created_after", str, description="ISO 8601, inclusive"),
    OpenApiParameter("created_before", str, description="ISO 8601, exclusive"),
    OpenApiParameter("search", str, description="in requested_by and error")]
