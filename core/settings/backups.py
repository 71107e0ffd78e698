"""Backups, restores and clones of tenant databases (docs/operations.md#backups)."""

from .environment import BASE_DIR, env

# Where dumps go: a Django storage backend. FileSystemStorage under .local/backups by default;
# `storages.backends.s3.S3Storage` (django-storages) for any S3-compatible store in production.
BACKUP_STORAGE_BACKEND = env.str("BACKUP_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage")
if BACKUP_STORAGE_BACKEND.endswith("S3Storage"):
    # Credentials come from boto3's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a role).
    _BACKUP_STORAGE_OPTIONS: dict[str, object] = {
        "bucket_name": env.str("BACKUP_S3_BUCKET", default="tessera-backups"),
        "endpoint_url": env.str("BACKUP_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("BACKUP_S3_REGION", default="") or None,
        "location": env.str("BACKUP_S3_PREFIX", default="backups"),
        "default_acl": None, "file_overwrite": False,
    }
else:
    _BACKUP_STORAGE_OPTIONS = {"location": env.str("BACKUP_STORAGE_LOCATION",
                                                   default=str(BASE_DIR / ".local" / "backups"))}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "backups": {"BACKEND": BACKUP_STORAGE_BACKEND, "OPTIONS": _BACKUP_STORAGE_OPTIONS},
}
# Per plan: `<plan>=<days>:<count>`; a backup goes when older than <days> or beyond the <count> newest.
BACKUP_RETENTION = env.str("BACKUP_RETENTION", default="free=7:7,pro=30:30,enterprise=90:90")
# pg_dump's zlib level (0-9): 1 costs a third of the default 6's CPU for a slightly larger file.
BACKUP_COMPRESS_LEVEL = env.int("BACKUP_COMPRESS_LEVEL", default=1)
BACKUP_SCHEDULE_SECONDS = env.float("BACKUP_SCHEDULE_SECONDS", default=24 * 3600.0)  # every active tenant
# pg_dump/pg_restore: "" finds the binaries matching each server's major version (/usr/lib/postgresql/<v>/bin).
PG_BIN_DIR = env.str("PG_BIN_DIR", default="")
BACKUP_SCRATCH_DIR = env.str("BACKUP_SCRATCH_DIR", default="")  # local dump files ("": the system temp dir)
# A clone copies with CREATE DATABASE ... TEMPLATE (it blocks the source's new connections meanwhile)
# only for an idle source up to this size; anything else goes through pg_dump/pg_restore.
CLONE_TEMPLATE_MAX_BYTES = env.int("CLONE_TEMPLATE_MAX_BYTES", default=64 * 1024 * 1024)
TENANT_MAINTENANCE_RETRY_AFTER_SECONDS = env.int("TENANT_MAINTENANCE_RETRY_AFTER_SECONDS", default=30)
# A database left by a move, or replaced by a restore in place, is kept this long before it is dropped.
RETIRED_DATABASE_GRACE_SECONDS = env.int("RETIRED_DATABASE_GRACE_SECONDS", default=7 * 24 * 3600)
