"""The backup storage: store a dump, verify it, fetch it back, all in chunks.

Dumps are written by pg_dump to a local scratch file (seekable, so the
archive carries its data offsets) and copied to the `backups` storage
(`STORAGES["backups"]`: a local directory, or any S3-compatible bucket through
django-storages) in chunks, with their sha256: a 200 MB dump is never held
in memory. Reading back always re-checks the checksum, so a file
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


def store(*, path: Path, name: str) -> tuple[str, int, str]:
    """Copy the local file `path` to the storage as `name`; return the stored name, its size and sha256.

    The checksum is a pass of its own over the local file (cheap next to the upload): a backend may
    read, seek and re-read what it uploads (S3 multipart retries), so hashing its reads would not do.
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while data := handle.read(CHUNK):
            digest.update(data)
        handle.seek(0)
        stored = backup_storage().save(name, File(handle))
    return stored, path.stat().st_size, digest.hexdigest()


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
