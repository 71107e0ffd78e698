"""Control plane models: servers, tenants, domains, provisioning jobs."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone


class DatabaseServer(models.Model):
    """A PostgreSQL server from TENANT_DB_SERVERS (synced, never edited by hand)."""

    name = models.CharField(max_length=31, unique=True)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField()
    replicas = models.PositiveSmallIntegerField(default=0)
    pooled = models.BooleanField(default=False)
    accepts_tenants = models.BooleanField(default=True, help_text="New tenants may be placed here.")
    configured = models.BooleanField(default=True, help_text="Listed in TENANT_DB_SERVERS right now.")
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TenantStatus(models.TextChoices):
    PROVISIONING = "provisioning", "Provisioning"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    FAILED = "failed", "Failed"
    DELETING = "deleting", "Deleting"
    DELETED = "deleted", "Deleted"


class Plan(models.TextChoices):
    FREE = "free", "Free"
    PRO = "pro", "Pro"
    ENTERPRISE = "enterprise", "Enterprise"


class Tenant(models.Model):
    slug = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    status = models.CharField(max_length=20, choices=TenantStatus.choices, default=TenantStatus.PROVISIONING,
                              db_index=True)
    # Keyed by name: `tenant.server_id` is the server name, no join needed.
    server = models.ForeignKey(DatabaseServer, on_delete=models.PROTECT, related_name="tenants", to_field="name")
    database = models.CharField(max_length=63)
    admin_email = models.EmailField()
    error = models.TextField(blank=True, default="")
    # Browser origins allowed beyond the tenant's own domains (tenants.cors).
    cors_origins = ArrayField(models.CharField(max_length=300), default=list, db_default=[], blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slug"]
        permissions = [("suspend_tenant", "Can suspend a tenant"), ("resume_tenant", "Can resume a tenant")]
        constraints = [
            # A deleted tenant frees its slug and database name for reuse.
            models.UniqueConstraint(fields=["slug"], condition=~Q(status="deleted"), name="tenant_slug_live"),
            models.UniqueConstraint(fields=["server", "database"], condition=~Q(status="deleted"),
                                    name="tenant_database_live"),
        ]

    def __str__(self) -> str:
        return self.slug


class Domain(models.Model):
    domain = models.CharField(max_length=253, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domains")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class JobKind(models.TextChoices):
    PROVISION = "provision", "Provision"
    DELETE = "delete", "Delete"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ProvisioningJob(models.Model):
    """One run of the provisioning (or deletion) state machine for a tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=20, choices=JobKind.choices, default=JobKind.PROVISION)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True)
    steps_done = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Never a plain password: the admin's password hash, consumed by the job.
    payload = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_watchdog_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.tenant_id} ({self.status})"
