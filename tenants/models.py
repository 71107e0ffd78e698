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
    # Restore in place: the tenant answers 503 `tenant_maintenance` until it is switched back.
    MAINTENANCE = "maintenance", "Maintenance"
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
        permissions = [("suspend_tenant", "Can suspend a tenant"), ("resume_tenant", "Can resume a tenant"),
                       ("move_tenant", "Can move a tenant to another server")]
        constraints = [
            # A deleted tenant frees its slug and database name for reuse.
            models.UniqueConstraint(fields=["slug"], condition=~Q(status=TenantStatus.DELETED),
                                    name="tenant_slug_live"),
            models.UniqueConstraint(fields=["server", "database"], condition=~Q(status=TenantStatus.DELETED),
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
    MOVE = "move", "Move"
    BACKUP = "backup", "Backup"
    RESTORE = "restore", "Restore"
    CLONE = "clone", "Clone"


# Jobs that change which database serves a tenant, or drop it: at most one open per tenant
# (the `one_exclusive_job_per_tenant` constraint; tenants.operations turns a clash into 409).
EXCLUSIVE_JOB_KINDS = (JobKind.DELETE, JobKind.MOVE, JobKind.RESTORE)
OPEN_JOB_STATUSES = ("pending", "running")
# Run by tenants.datajobs (its own runner and watchdog), not by the provisioning state machine.
DATA_JOB_KINDS = (JobKind.BACKUP, JobKind.RESTORE, JobKind.CLONE)


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
    # Who asked for it: "user:<username>", "token:<username>" or "cli:<os user>" (tenants.operations.actor_*).
    requested_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_watchdog_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], name="one_exclusive_job_per_tenant",
                condition=Q(kind__in=EXCLUSIVE_JOB_KINDS) & Q(status__in=OPEN_JOB_STATUSES)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.tenant_id} ({self.status})"


class RetiredDatabase(models.Model):
    """A tenant database no longer serving (left by a move, or a restore's safety copy), kept for a grace period.

    `tenants.retired.retired_databases_sweep` drops it after `drop_after`, through the owner-checked
    drop: the database must still carry `mark`, the owner mark it had when it was retired.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="retired_databases")
    server = models.ForeignKey(DatabaseServer, on_delete=models.PROTECT, related_name="+", to_field="name")
    database = models.CharField(max_length=63)
    mark = models.CharField(max_length=100)
    reason = models.CharField(max_length=20, choices=JobKind.choices)
    job = models.ForeignKey(ProvisioningJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    retired_at = models.DateTimeField(default=timezone.now)
    drop_after = models.DateTimeField()
    dropped_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-retired_at"]
        constraints = [
            models.UniqueConstraint(fields=["server", "database"], condition=Q(dropped_at__isnull=True),
                                    name="retired_database_live"),
        ]

    def __str__(self) -> str:
        return f"{self.server_id}/{self.database} (retired, {self.reason})"


class BackupStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    # Reported done only once verified: the stored file's checksum matches and pg_restore reads it.
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Backup(models.Model):
    """A `pg_dump -Fc` of one tenant database, kept in the backup storage (tenants.backups)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="backups")
    job = models.ForeignKey(ProvisioningJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=20, choices=BackupStatus.choices, default=BackupStatus.PENDING,
                              db_index=True)
    # Where the dump came from (the tenant may move or be restored since).
    server = models.CharField(max_length=31)
    database = models.CharField(max_length=63)
    storage_name = models.CharField(max_length=300, blank=True, default="")
    size = models.BigIntegerField(null=True, blank=True)
    checksum = models.CharField(max_length=64, blank=True, default="", help_text="sha256 of the stored file")
    requested_by = models.CharField(max_length=200, blank=True, default="")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "status", "created_at"], name="backup_tenant_idx")]
        # Kept here rather than on Tenant, so the tenant's own options stay untouched.
        permissions = [("restore_backup", "Can restore a backup"), ("clone_tenant", "Can clone a tenant")]

    def __str__(self) -> str:
        return f"backup {self.pk} of {self.tenant_id} ({self.status})"


class AuditOutcome(models.TextChoices):
    OK = "ok", "Ok"
    REFUSED = "refused", "Refused"


class AuditEvent(models.Model):
    """One platform action, as it was asked for and answered (append-only: a trigger refuses UPDATE and DELETE).

    The target is a copy of the tenant's slug and id, not a foreign key: the
    record outlives the tenant, and a cascade could never delete it anyway.
    """

    at = models.DateTimeField(default=timezone.now)
    # "token:<username>", "user:<username>", "cli:<os user>" or "system" (tenants.operations.actor_*).
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=60)
    tenant_slug = models.CharField(max_length=40, blank=True, default="")
    tenant_pk = models.BigIntegerField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)  # scrubbed of secrets (tenants.audit.scrub)
    outcome = models.CharField(max_length=10, choices=AuditOutcome.choices, default=AuditOutcome.OK)
    code = models.CharField(max_length=60, blank=True, default="")  # the error code of a refusal
    request_id = models.CharField(max_length=64, blank=True, default="")
    client_ip = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["tenant_slug", "-id"], name="audit_tenant_idx"),
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
            models.Index(fields=["action", "-id"], name="audit_action_idx"),
            models.Index(fields=["at"], name="audit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.tenant_slug} {self.outcome}"


class TenantUsageDay(models.Model):
    """A tenant's usage on one UTC day, flushed from Redis by `tenants.usage.usage_flush`."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="usage_days")
    day = models.DateField()
    requests = models.BigIntegerField(default=0)
    write_requests = models.BigIntegerField(default=0)
    exports = models.BigIntegerField(default=0)
    active_users = models.IntegerField(default=0)  # distinct users seen that day (HyperLogLog estimate)
    database_bytes = models.BigIntegerField(null=True, blank=True)  # last pg_database_size sample of the day
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant_id", "day"]
        default_permissions = ("view",)
        constraints = [models.UniqueConstraint(fields=["tenant", "day"], name="usage_tenant_day")]
        indexes = [models.Index(fields=["day"], name="usage_day_idx")]

    def __str__(self) -> str:
        return f"usage {self.tenant_id} {self.day}"
