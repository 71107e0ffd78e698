"""The backup storage is one setting away from an S3-compatible bucket."""

from __future__ import annotations

import pytest

from tests.tenants.conftest import run_django

pytestmark = pytest.mark.unit


def test_the_s3_backend_is_built_from_the_documented_variables() -> None:
    code = ("from tenants.backupstore import backup_storage as b; s = b(); "
            "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.location, s.file_overwrite)")
    proc = run_django(code, BACKUP_STORAGE_BACKEND="storages.backends.s3.S3Storage", BACKUP_S3_BUCKET="dumps",
                      BACKUP_S3_ENDPOINT_URL="http://127.0.0.1:9", BACKUP_S3_PREFIX="tessera")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["S3Storage", "dumps", "http://127.0.0.1:9", "tessera", "False"]


def test_the_default_backend_is_a_local_directory() -> None:
    proc = run_django("from tenants.backupstore import backup_storage as b; print(type(b()).__name__, b().location)")
    assert proc.returncode == 0, proc.stderr
    name, location = proc.stdout.split()
    assert name == "FileSystemStorage" and location.endswith(".local/backups-test")
