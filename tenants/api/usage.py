"""Platform API: per-tenant daily usage and the fleet's usage over a date range."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApiError, CoreErrorCode
from core.pagination import IdCursorPagination
from tenants import records_selectors, selectors
from tenants.api.permissions import IsPlatformAdmin
from tenants.api.serializers import ErrorSerializer

DEFAULT_DAYS = 30
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
MAX_DAYS = 366
RANGE = [OpenApiParameter("from", str, description="first day, YYYY-MM-DD (default: 29 days before `to`)"),
         OpenApiParameter("to", str, description="last day, YYYY-MM-DD, inclusive (default: today, UTC)")]


class InvalidRange(ApiError):
    code = CoreErrorCode.VALIDATION_ERROR


def _day(raw: str | None, name: str, default: date) -> date:
    if raw is None:
        return default
    try:
        if not ISO_DAY.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRange(f"{name}: a date as YYYY-MM-DD.", fields={name: ["A date as YYYY-MM-DD."]}) from None


def date_range(request: Request) -> tuple[date, date]:
    """Return the request's inclusive (`from`, `to`) days, or raise a 400 naming the bad parameter."""
    end = _day(request.query_params.get("to"), "to", timezone.now().date())
    start = _day(request.query_params.get("from"), "from", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise InvalidRange("from: must not be after `to`.", fields={"from": ["Must not be after `to`."]})
    if (end - start).days >= MAX_DAYS:
        raise InvalidRange(f"from: at most {MAX_DAYS} days per request.",
                           fields={"from": [f"At most {MAX_DAYS} days per request."]})
    return start, end


class UsageDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    requests = serializers.IntegerField()
    write_requests = serializers.IntegerField()
    exports = serializers.IntegerField()
    active_users = serializers.IntegerField()
    database_bytes = serializers.IntegerField(allow_null=True)


class TenantUsageSerializer(serializers.Serializer):
    tenant = serializers.CharField(source="slug")
    status = serializers.CharField()
    requests = serializers.IntegerField()
    write_requests = serializers.IntegerField()
    exports = serializers.IntegerField()
    active_users = serializers.IntegerField(help_text="the busiest day's distinct users")
    database_bytes = serializers.IntegerField(help_text="the largest size sampled in the range")


@extend_schema(tags=["platform"])
class TenantUsageView(APIView):
    """One tenant's usage, one row per day that has any (oldest first)."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {"get": "tenants.view_tenantusageday"}

    @extend_schema(parameters=RANGE, responses={200: UsageDaySerializer(many=True), 400: ErrorSerializer,
                                                404: ErrorSerializer})
    def get(self, request: Request, slug: str) -> Response:
        start, end = date_range(request)
        tenant = selectors.tenant_get(slug=slug, primary=True)
        if tenant is None:
            raise ApiError("Tenant not found.", code=CoreErrorCode.NOT_FOUND, status_code=404)
        rows = records_selectors.usage_days(tenant=tenant, start=start, end=end)
        return Response({"tenant": tenant.slug, "from": start, "to": end,
                         "days": UsageDaySerializer(rows, many=True).data})


class UsagePagination(IdCursorPagination):
    """Pages of the fleet usage, sorted by `ordering`: a measure, `-` for descending (default `-requests`)."""

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        term = request.query_params.get("ordering", "-requests")
        if term.lstrip("-") not in records_selectors.USAGE_MEASURES or term.count("-") > 1:
            choices = ", ".join(records_selectors.USAGE_MEASURES)
            raise InvalidRange(f"ordering: one of {choices}, optionally with a leading '-'.",
                               fields={"ordering": [f"One of {choices}, optionally with a leading '-'."]})
        return (term, "id")


@extend_schema(tags=["platform"])
class FleetUsageView(APIView):
    """Every tenant's usage over a date range, in the page envelope, sortable by each measure."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {"get": "tenants.view_tenantusageday"}
    pagination_class = UsagePagination

    @extend_schema(parameters=[*RANGE, OpenApiParameter(
        "ordering", str, description=f"one of {', '.join(records_selectors.USAGE_MEASURES)}; '-' descending")],
        responses={200: TenantUsageSerializer(many=True), 400: ErrorSerializer})
    def get(self, request: Request) -> Response:
        start, end = date_range(request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(records_selectors.usage_totals(start=start, end=end), request, self)
        return paginator.get_paginated_response(TenantUsageSerializer(page, many=True).data)
