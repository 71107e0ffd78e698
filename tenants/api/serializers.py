"""Platform API serializers (input validation lives in tenants.services)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from tenants.models import DatabaseServer, Plan, Tenant, TenantStatus


class TenantCreateSerializer(serializers.Serializer):
    slug = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=200)
    admin_email = serializers.EmailField()
    admin_password = serializers.CharField(required=False, min_length=8, max_length=128, write_only=True)
    server = serializers.CharField(required=False, max_length=31)
    plan = serializers.ChoiceField(choices=Plan.choices, default=Plan.FREE)


class TenantSerializer(serializers.ModelSerializer):
    server = serializers.CharField(source="server_id", read_only=True)
    domains = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["slug", "name", "plan", "status", "server", "database", "domains", "admin_email",
                  "created_at", "activated_at", "error"]
        read_only_fields = fields

    def get_domains(self, tenant: Tenant) -> list[str]:
        return [d.domain for d in tenant.domains.all()]

    def to_representation(self, instance: Tenant) -> dict[str, Any]:
        data = super().to_representation(instance)
        # A failed provisioning, or a deletion that failed (it stays `deleting` until retried).
        failed_deletion = instance.status == TenantStatus.DELETING and instance.error
        if instance.status != TenantStatus.FAILED and not failed_deletion:
            data.pop("error")
        return data


class DomainSerializer(serializers.Serializer):
    domain = serializers.CharField(max_length=253)


class ServerSerializer(serializers.ModelSerializer):
    tenants = serializers.IntegerField(source="tenant_count", read_only=True)
    replica_lag_seconds = serializers.ListField(child=serializers.FloatField(allow_null=True), read_only=True)

    class Meta:
        model = DatabaseServer
        fields = ["name", "host", "port", "replicas", "pooled", "accepts_tenants", "configured", "tenants",
                  "replica_lag_seconds"]


class PlatformTokenSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class ErrorSerializer(serializers.Serializer):
    """The contract's error body (documentation only)."""

    code = serializers.CharField()
    detail = serializers.CharField()


class TenantUpdateSerializer(serializers.Serializer):
    """What `PATCH /api/platform/tenants/<slug>/` may change."""

    name = serializers.CharField(max_length=200, required=False)
    plan = serializers.ChoiceField(choices=Plan.choices, required=False)
