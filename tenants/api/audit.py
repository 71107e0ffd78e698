"""Platform API: the audit log (`GET /api/platform/audit/`), filtered and in cursor pages."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import IdCursorPagination, filtered_page
from tenants import records_selectors
from tenants.api.permissions import IsPlatformAdmin
from tenants.api.serializers import ErrorSerializer
from tenants.models import AuditEvent


class AuditFilter(django_filters.FilterSet):
    """`tenant` (slug), `actor`, `action` (exact), `since` (ISO 8601, inclusive)."""

    tenant = django_filters.CharFilter(field_name="tenant_slug")
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")

    class Meta:
        model = AuditEvent
        fields = ["tenant", "actor", "action", "since"]


class AuditEventSerializer(serializers.ModelSerializer):
    tenant = serializers.CharField(source="tenant_slug")
    tenant_id = serializers.IntegerField(source="tenant_pk", allow_null=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "action", "tenant", "tenant_id", "params", "outcome", "code",
                  "request_id", "client_ip"]


class AuditPagination(IdCursorPagination):
    ordering = ("-id",)


PARAMETERS = [OpenApiParameter("tenant", str, description="tenant slug"), OpenApiParameter("actor", str),
              OpenApiParameter("action", str, description="e.g. tenant.suspend"),
              OpenApiParameter("since", str, description="ISO 8601, inclusive")]


@extend_schema(tags=["platform"])
class AuditListView(APIView):
    """Platform actions, newest first, with who asked, from where, and how they were answered."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {"get": "tenants.view_auditevent"}
    pagination_class = AuditPagination
    search_fields: list[str] = []

    @extend_schema(parameters=PARAMETERS, responses={200: AuditEventSerializer(many=True), 400: ErrorSerializer})
    def get(self, request: Request) -> Response:
        return filtered_page(request, self, records_selectors.audit_events(), AuditFilter, AuditEventSerializer)
