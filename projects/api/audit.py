"""Tenant API: the tenant's security events (`GET /api/audit/`), for tenant admins only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated

from core.pagination import IdCursorPagination
from projects.api.base import ProductView
from projects.models import SecurityEvent


class IsTenantAdmin(BasePermission):
    message = "Only tenant admins can read the audit log."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user and request.user.is_staff)


class SecurityEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = SecurityEvent
        fields = ["id", "at", "kind", "user_id", "username", "subject", "actor_id", "detail", "request_id",
                  "client_ip"]


class SecurityEventPagination(IdCursorPagination):
    ordering = ("-id",)


@extend_schema(tags=["auth"])
class SecurityEventListView(ProductView, ListAPIView):
    """Sign-ins, failed sign-ins, users created or deactivated, role changes: newest first."""

    permission_classes = [IsAuthenticated, IsTenantAdmin]
    serializer_class = SecurityEventSerializer
    pagination_class = SecurityEventPagination
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return SecurityEvent.objects.all()
