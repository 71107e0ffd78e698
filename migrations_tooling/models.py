"""The migration ledger (control plane): one run, one record per database, backfill checkpoints."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    REFUSED = "refused", "Refused"


class RecordStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class MigrationRun(models.Model):
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    options = models.JSONField(default=dict, blank=True)
    requested_by = models.CharField(max_length=150, blank=True, default="")
    error = models.TextField(blank=True, default="")
    lint = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"


class MigrationRecord(models.Model):
    run = models.ForeignKey(MigrationRun, on_delete=models.CASCADE, related_name="records")
    database_label = models.CharField(max_length=100, help_text="tenant slug, or 'control'")
    server = models.CharField(max_length=31)
    database = models.CharField(max_length=63)
    status = models.CharField(max_length=10, choices=RecordStatus.choices, default=RecordStatus.PENDING)
    pending = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    applied = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "database_label"], name="record_per_database")]
        indexes = [models.Index(fields=["run", "status"], name="record_run_status_idx")]

    def __str__(self) -> str:
        return f"{self.database_label}: {self.status}"


class BackfillRecord(models.Model):
    """Checkpoint of one backfill on one tenant database."""

    name = models.CharField(max_length=100)
    tenant = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=RecordStatus.choices, default=RecordStatus.PENDING)
    last_pk = models.BigIntegerField(default=0)
    rows_done = models.BigIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "tenant"]
        constraints = [models.UniqueConstraint(fields=["name", "tenant"], name="backfill_per_tenant")]

    def __str__(self) -> str:
        return f"{self.name}@{self.tenant}: {self.status} ({self.rows_done})"
