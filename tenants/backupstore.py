"""The backup storage: store a dump, verify it, fetch it back, all in chunks.

Dumps are written by pg_dump to a local scratch file (seekable, so the
archive carries its data offsets) and copied to the `backups` storage
(`STORAGES["backups"]`: a local directory, or any S3-compatible bucket through
django-storages) in chunks while their sha256 is computed: a 200 MB dump is
never held in memory. Reading back always re-checks the checksum, so a file
that was corrupted or replaced in the store is refused before anything is
restored from it.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages

from tenants import pgtools

CHUNK = 1024 * 1024


class BackupUnusable(Exception):
    """The stored file is missing, does not match its checksum, or is no archive pg_restore can read."""


def backup_storage() -> Storage:
    """Return the storage backups are kept in."""
    return storages["backups"]


@contextmanager
def scratch_file(suffix: str = ".dump") -> Iterator[Path]:
    """Yield a path in the scratch directory, removed afterwards."""
    directory = settings.BACKUP_SCRATCH_DIR or None
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tessera-", dir=directory) as folder:
        yield Path(folder) / f"archive{suffix}"


class _Hashing(File):
    """A file whose reads (chunks for a local store, `read` for S3 uploads) update a sha256."""

    def __init__(self, handle: IO[bytes]) -> None:
        super().__init__(handle)
        self.handle, self.sha256 = handle, hashlib.sha256()

    def read(self, *args: int) -> bytes:
        data: bytes = self.handle.read(*args)
        self.sha256.update(data)
        return data

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        self.handle.seek(0)
        while data := self.read(chunk_size or CHUNK):
            yield data


def store(*, path: Path, name: str) -> tuple[str, int, str]:
    """Copy the local file `path` to the storage as `name`; return the stored name, its size and sha256."""
    with path.open("rb") as handle:
        hashing = _Hashing(handle)
        stored = backup_storage().save(name, hashing)
    return stored, path.stat().st_size, hashing.sha256.hexdigest()


def _stored_chunks(name: str) -> Iterator[bytes]:
    storage = backup_storage()
    if not name or not storage.exists(name):
        raise BackupUnusable(f"the backup file {name or '(none)'} is missing from the backup storage")
    with storage.open(name, "rb") as handle:
        while data := handle.read(CHUNK):
            yield data


def verify(*, name: str, checksum: str, server: str) -> None:
    """Check that the stored file matches `checksum` and that pg_restore can list it, in one pass."""
    digest = hashlib.sha256()
    proc = subprocess.Popen(pgtools.restore_list_command(server), stdin=subprocess.PIPE,  # noqa: S603
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None
    reading = True
    try:
        for data in _stored_chunks(name):
            digest.update(data)
            if reading:
                reading = _feed(proc.stdin, data)
    finally:
        _close_quietly(proc.stdin)
        errors = proc.stderr.read().decode(errors="replace")
        code = proc.wait()
    _check_digest(name, digest.hexdigest(), checksum)
    if code:
        raise BackupUnusable(f"pg_restore cannot read {name}: {errors.strip()[-500:]}")


def _feed(pipe: IO[bytes], data: bytes) -> bool:
    """Write `data` to pg_restore; False once it stopped reading (its exit code says why)."""
    try:
        pipe.write(data)
    except BrokenPipeError:
        return False
    return True


def _close_quietly(handle: IO[bytes]) -> None:
    with suppress(BrokenPipeError):  # pg_restore stopped reading: its exit code says why
        handle.close()


def _check_digest(name: str, actual: str, expected: str) -> None:
    if actual != expected:
        raise BackupUnusable(f"the backup file {name} is corrupt: sha256 {actual}, expected {expected}")


def fetch(*, name: str, checksum: str, path: Path) -> None:
    """Copy the stored file to the local `path`, refusing it unless it matches `checksum`."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for data in _stored_chunks(name):
            digest.update(data)
            out.write(data)
    _check_digest(name, digest.hexdigest(), checksum)


def delete(name: str) -> None:
    """Delete a stored file (idempotent)."""
    if name:
        backup_storage().delete(name)
