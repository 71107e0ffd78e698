"""Filters, search and pages of the platform's tenant list (the tenant API's page envelope)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter

from core.pagination import IdCursorPagination
from tenants.models import Tenant, TenantStatus

SEARCH_FIELDS = ["slug", "name", "admin_email"]


class TenantFilter(django_filters.FilterSet):
    """`status` (deleted tenants are listed only when asked for), `plan`, `server`, created range."""

    status = django_filters.ChoiceFilter(choices=TenantStatus.choices, method="filter_status")
    server = django_filters.CharFilter(field_name="server_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Tenant
        fields = ["status", "plan", "server", "created_after", "created_before"]

    def filter_queryset(self, queryset: QuerySet[Tenant]) -> QuerySet[Tenant]:
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.exclude(status=TenantStatus.DELETED)
        return super().filter_queryset(queryset)

    def filter_status(self, queryset: QuerySet[Tenant], name: str, value: str) -> QuerySet[Tenant]:
        return queryset.filter(status=value)


class TenantPagination(IdCursorPagination):
    ordering = ("slug", "id")


PARAMETERS = [
    OpenApiParameter("status", str, enum=TenantStatus.values, description="deleted tenants are listed only here"),
    OpenApiParameter("plan", str), OpenApiParameter("server", str),
    OpenApiParameter("created_after", str, description="ISO 8601, inclusive"),
    OpenApiParameter("created_before", str, description="ISO 8601, exclusive"),
    OpenApiParameter("search", str, description="in slug, name and admin email")]
