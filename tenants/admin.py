"""Django admin for the control plane: tenants, domains, servers, provisioning jobs.

Every write goes through `tenants.services`, like the platform API's: the
admin never saves a Tenant or Domain row itself, so validation (the base
domain check), compare-and-set status changes and resolution-cache
invalidation apply here too. Forms run the same checks first, so a bad value
is a form error rather than an exception.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import ForeignKey, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from core.aliases import CONTROL_ALIAS
from core.errors import ApiError
from tenants import operations, selectors, services
from tenants.models import AuditEvent, Backup, DatabaseServer, Domain, ProvisioningJob, Tenant, TenantUsageDay
from tenants.validation import custom_domain_problem, normalize_domain


class PrimaryReads:
    """Read the control-plane primary: an operator acts on what is, not on what a replica replayed."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).using(CONTROL_ALIAS)  # type: ignore[misc]

    def formfield_for_foreignkey(self, db_field: ForeignKey, request: HttpRequest,
                                 **kwargs: Any) -> forms.ModelChoiceField | None:
        kwargs.setdefault("queryset", db_field.remote_field.model._default_manager.using(CONTROL_ALIAS))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class DomainForm(forms.ModelForm):
    """A custom domain: checked like `services.domain_add` does; fixed once saved."""

    class Meta:
        model = Domain
        fields = ["domain"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # a domain is removed and added, never edited in place
            for field in self.fields.values():
                field.disabled = True

    def clean_domain(self) -> str:
        domain = normalize_domain(self.cleaned_data["domain"])
        if self.instance.pk is None and (problem := custom_domain_problem(domain)):
            raise forms.ValidationError(problem)
        return str(domain)


class DomainInline(PrimaryReads, admin.TabularInline):
    model = Domain
    form = DomainForm
    extra = 0


admin.site.site_header = "Tessera platform administration"
admin.site.site_title = "Tessera admin"
admin.site.index_title = "Control plane"


def _bulk(action: Any, verb: str, done_verb: str, permission: str) -> Any:
    """Return an admin action applying `action` to each selected tenant ("Suspend selected tenants")."""
    def run(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        done = 0
        for tenant in queryset:
            try:
                action(slug=tenant.slug, actor=operations.actor_of_request(request))
                done += 1
            except ApiError as exc:
                # The admin capitalises a message's first letter: a slug never starts one.
                modeladmin.message_user(request, f"Tenant {tenant.slug}: {exc.detail}", messages.WARNING)
        modeladmin.message_user(request, f"{done_verb} {done} tenant(s).")
    run.__name__ = f"{verb.lower()}_tenants"
    run.short_description = f"{verb} selected tenants"  # type: ignore[attr-defined]
    run.allowed_permissions = (permission,)  # type: ignore[attr-defined]  # the API's permission, not just staff
    return run


@admin.register(Tenant)
class TenantAdmin(PrimaryReads, admin.ModelAdmin):
    list_display = ["slug", "name", "plan", "status", "server", "database", "created_at"]
    list_filter = ["status", "plan", "server"]
    search_fields = ["slug", "name", "admin_email", "domains__domain"]
    readonly_fields = ["slug", "status", "server", "database", "admin_email", "error", "created_at",
                       "updated_at", "activated_at", "deleted_at"]
    inlines = [DomainInline]
    actions = [_bulk(services.tenant_suspend, "Suspend", "Suspended", "suspend"),
               _bulk(services.tenant_resume, "Resume", "Resumed", "resume"),
               _bulk(services.tenant_retry, "Retry", "Retried", "change")]

    def has_suspend_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("tenants.suspend_tenant"))

    def has_resume_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("tenants.resume_tenant"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tenants are created through provisioning (API or create_tenant)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deletion drops a database: use the API's DELETE

    def save_model(self, request: HttpRequest, obj: Tenant, form: ModelForm, change: bool) -> None:
        # Only name and plan are editable; a full-row save could write back a stale status.
        services.tenant_update(slug=obj.slug, name=obj.name, plan=obj.plan,
                               actor=operations.actor_of_request(request))

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet,
                     change: bool) -> None:
        formset.save(commit=False)  # fills deleted_objects and new_objects, writes nothing
        slug = form.instance.slug
        for domain in formset.deleted_objects:
            services.domain_remove(slug=slug, domain=domain.domain, actor=operations.actor_of_request(request))
        for domain in formset.new_objects:
            domain.pk = services.domain_add(slug=slug, domain=domain.domain,
                                            actor=operations.actor_of_request(request)).pk


@admin.register(Domain)
class DomainAdmin(PrimaryReads, admin.ModelAdmin):
    form = DomainForm
    fields = ["domain", "tenant"]
    list_display = ["domain", "tenant", "created_at"]
    search_fields = ["domain", "tenant__slug"]

    def get_readonly_fields(self, request: HttpRequest, obj: Domain | None = None) -> list[str]:
        return ["domain", "tenant"] if obj else []

    def formfield_for_foreignkey(self, db_field: ForeignKey, request: HttpRequest,
                                 **kwargs: Any) -> forms.ModelChoiceField | None:
        if db_field.name == "tenant":
            kwargs["queryset"] = selectors.tenant_list().using(CONTROL_ALIAS)  # deleted tenants take no domains
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Domain, form: ModelForm, change: bool) -> None:
        if not change:  # a saved domain has no editable field
            row = services.domain_add(slug=obj.tenant.slug, domain=obj.domain,
                                      actor=operations.actor_of_request(request))
            obj.pk, obj.created_at = row.pk, row.created_at

    def delete_model(self, request: HttpRequest, obj: Domain) -> None:
        services.domain_remove(slug=obj.tenant.slug, domain=obj.domain, actor=operations.actor_of_request(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Domain]) -> None:
        for domain in queryset.select_related("tenant"):
            self.delete_model(request, domain)


@admin.register(DatabaseServer)
class DatabaseServerAdmin(PrimaryReads, admin.ModelAdmin):
    list_display = ["name", "host", "port", "tenant_count", "replicas", "replica_lag", "pooled", "accepts_tenants",
                    "configured"]
    list_filter = ["accepts_tenants", "configured"]
    readonly_fields = ["name", "host", "port", "replicas", "pooled", "configured", "synced_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows mirror TENANT_DB_SERVERS (synced at migrate and worker start)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[DatabaseServer]:
        return selectors.servers_with_counts().using(CONTROL_ALIAS)

    @admin.display(description="tenants", ordering="live")
    def tenant_count(self, obj: DatabaseServer) -> int:
        return int(obj.live)  # type: ignore[attr-defined]

    @admin.display(description="replica lag (s)")
    def replica_lag(self, obj: DatabaseServer) -> str:
        lags = selectors.replica_lags(server=obj.name, replicas=obj.replicas)
        return ", ".join("unknown" if lag is None else f"{lag:.3f}" for lag in lags) or "-"

    def save_model(self, request: HttpRequest, obj: DatabaseServer, form: ModelForm, change: bool) -> None:
        services.server_update(name=obj.name, accepts_tenants=obj.accepts_tenants)


class ReadOnly:
    """Nothing is added, changed or deleted here: the rows belong to a state machine."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProvisioningJob)
class ProvisioningJobAdmin(ReadOnly, PrimaryReads, admin.ModelAdmin):
    """Read-only: jobs belong to the state machine (retry a tenant to run one again)."""

    list_display = ["tenant", "kind", "status", "attempts", "steps_done", "requested_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    search_fields = ["tenant__slug"]
    readonly_fields = ["tenant", "kind", "status", "steps_done", "attempts", "requested_by", "error", "move_plan",
                       "created_at", "queued_at", "started_at", "heartbeat_at", "finished_at"]
    exclude = ["payload"]  # a provisioning's holds the admin's password hash

    @admin.display(description="move: plan and figures")
    def move_plan(self, obj: ProvisioningJob) -> str:
        """Show a move's source, target and cutover figures (its payload holds no secret)."""
        if obj.kind != "move":
            return "-"
        return ", ".join(f"{key}={value}" for key, value in sorted(obj.payload.items()))


@admin.register(Backup)
class BackupAdmin(ReadOnly, PrimaryReads, admin.ModelAdmin):
    """Read-only: backups are taken, restored and let go through the API, the CLI and the retention sweep."""

    list_display = ["id", "tenant", "status", "size", "created_at", "expires_at", "requested_by"]
    list_filter = ["status"]
    search_fields = ["tenant__slug", "checksum"]
    readonly_fields = ["tenant", "job", "status", "server", "database", "storage_name", "size", "checksum",
                       "requested_by", "error", "created_at", "finished_at", "expires_at"]


class ReadOnlyAdmin(ReadOnly, PrimaryReads, admin.ModelAdmin):
    """Viewable with the model's view permission; nobody adds, changes or deletes a row here."""


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "tenant_slug", "outcome", "code", "client_ip", "request_id"]
    list_filter = ["action", "outcome"]
    search_fields = ["tenant_slug", "actor", "request_id"]
    date_hierarchy = "at"


@admin.register(TenantUsageDay)
class TenantUsageDayAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "day", "requests", "write_requests", "exports", "active_users", "database_bytes"]
    list_filter = ["day"]
    search_fields = ["tenant__slug"]
