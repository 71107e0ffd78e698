"""Reads of the platform's records: the audit log and per-tenant daily usage (control-plane primary)."""

from __future__ import annotations

from datetime import date

from django.db.models import BigIntegerField, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from core.aliases import CONTROL_ALIAS
from tenants.models import AuditEvent, Tenant, TenantStatus, TenantUsageDay

# Measures of the fleet usage list, each one an `ordering` the API accepts (with or without `-`).
USAGE_MEASURES = ("requests", "write_requests", "exports", "active_users", "database_bytes")


def audit_events() -> QuerySet[AuditEvent]:
    """Return the audit log, newest first (the primary: an admin reads what was just recorded)."""
    return AuditEvent.objects.using(CONTROL_ALIAS).order_by("-id")


def usage_days(*, tenant: Tenant, start: date, end: date) -> QuerySet[TenantUsageDay]:
    """Return the tenant's usage rows from `start` to `end` (inclusive), oldest first."""
    return (TenantUsageDay.objects.using(CONTROL_ALIAS)
            .filter(tenant=tenant, day__gte=start, day__lte=end).order_by("day"))


def usage_totals(*, start: date, end: date) -> QuerySet[Tenant]:
    """Return every tenant not deleted, annotated with its usage from `start` to `end`.

    Counters are summed over the days; `active_users` is the busiest day's
    count (distinct users cannot be added across days); `database_bytes` is
    the largest size sampled in the range. A tenant without usage has zeros.
    """
    days = Q(usage_days__day__gte=start, usage_days__day__lte=end)
    sums = {measure: Coalesce(Sum(f"usage_days__{measure}", filter=days), 0,
                                  output_field=BigIntegerField())
            for measure in ("requests", "write_requests", "exports")}
    peaks = {measure: Coalesce(Max(f"usage_days__{measure}", filter=days), 0,
                                   output_field=BigIntegerField())
             for measure in ("active_users", "database_bytes")}
    return (Tenant.objects.using(CONTROL_ALIAS).exclude(status=TenantStatus.DELETED)
            .annotate(**sums, **peaks))
