"""Django admin for the control plane: tenants, domains, servers, provisioning jobs."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.errors import ApiError
from tenants import services
from tenants.models import DatabaseServer, Domain, ProvisioningJob, Tenant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


def _bulk(action: Any, verb: str) -> Any:
    def run(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        done = 0
        for tenant in queryset:
            try:
                action(slug=tenant.slug)
                done += 1
            except ApiError as exc:
                modeladmin.message_user(request, f"{tenant.slug}: {exc.detail}", messages.WARNING)
        modeladmin.message_user(request, f"{verb} {done} tenant(s).")
    run.__name__ = f"{verb.lower()}_tenants"
    run.short_description = f"{verb} selected tenants"  # type: ignore[attr-defined]
    return run


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "plan", "status", "server", "database", "created_at"]
    list_filter = ["status", "plan", "server"]
    search_fields = ["slug", "name", "admin_email", "domains__domain"]
    readonly_fields = ["slug", "status", "server", "database", "error", "created_at", "updated_at",
                       "activated_at", "deleted_at"]
    inlines = [DomainInline]
    actions = [_bulk(services.tenant_suspend, "Suspended"), _bulk(services.tenant_resume, "Resumed"),
               _bulk(services.tenant_retry, "Retried")]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tenants are created through provisioning (API or create_tenant)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deletion drops a database: use the API's DELETE


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "created_at"]
    search_fields = ["domain", "tenant__slug"]


@admin.register(DatabaseServer)
class DatabaseServerAdmin(admin.ModelAdmin):
    list_display = ["name", "host", "port", "replicas", "pooled", "accepts_tenants", "configured"]
    list_filter = ["accepts_tenants", "configured"]
    readonly_fields = ["name", "host", "port", "replicas", "pooled", "configured", "synced_at"]


@admin.register(ProvisioningJob)
class ProvisioningJobAdmin(admin.ModelAdmin):
    list_display = ["tenant", "kind", "status", "attempts", "steps_done", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    search_fields = ["tenant__slug"]
    readonly_fields = ["tenant", "kind", "status", "steps_done", "attempts", "error", "created_at",
                       "queued_at", "started_at", "heartbeat_at", "finished_at"]
    exclude = ["payload"]
