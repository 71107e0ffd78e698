"""Django admin: the migration ledger, read-only (runs start and resume through the CLI or the API)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.aliases import CONTROL_ALIAS
from migrations_tooling import selectors
from migrations_tooling.models import MigrationRecord, MigrationRun

RECORD_FIELDS: Any = ["database_label", "server", "database", "status", "pending", "applied", "attempts", "duration_ms",
                 "error", "updated_at"]


class ReadOnly:
    """No add, change or delete: the ledger is history."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RecordInline(ReadOnly, admin.TabularInline):
    model = MigrationRecord
    fields = RECORD_FIELDS
    readonly_fields = RECORD_FIELDS
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[MigrationRecord]:
        return super().get_queryset(request).using(CONTROL_ALIAS).order_by("id")


@admin.register(MigrationRun)
class MigrationRunAdmin(ReadOnly, admin.ModelAdmin):
    """Every fleet run with its options, lint findings and per-database records."""

    list_display = ["id", "status", "requested_by", "databases", "created_at", "started_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["requested_by", "error"]
    readonly_fields = ["status", "options", "requested_by", "error", "lint", "created_at", "started_at",
                       "finished_at"]
    inlines = [RecordInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[MigrationRun]:
        return selectors.run_list().using(CONTROL_ALIAS)

    @admin.display(description="databases by status")
    def databases(self, obj: MigrationRun) -> str:
        return ", ".join(f"{status} {count}" for status, count in sorted(selectors.run_counts(obj).items()))
