"""Fixtures shared by the whole suite: a fresh control database and a real worker.

The suite runs against the real services started by `python -m infra.local up`
(`make test` does that first). The control database is recreated once per run
and migrated; its streaming replica receives it like any other write.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.core.management import call_command
from psycopg2 import sql

ROOT = Path(__file__).resolve().parents[1]


def _maintenance_connection() -> psycopg2.extensions.connection:
    db = settings.DATABASES["default"]
    conn = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"],
                            password=db["PASSWORD"], dbname="postgres")
    conn.autocommit = True
    return conn


def recreate_database(name: str) -> None:
    """Drop (forcing out sessions) and create an empty database on server A."""
    conn = _maintenance_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    """Recreate and migrate the test control database (replicas follow by streaming)."""
    from django.db import connections

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        connections.close_all()
        recreate_database(settings.DATABASES["default"]["NAME"])
        call_command("migrate", database="default", verbosity=0, interactive=False)
    yield
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        connections.close_all()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None) -> Iterator[subprocess.Popen[bytes]]:
    """Start a real Celery worker on the test queue; stop it at the end of the run."""
    from core.celery import app

    app.control.purge()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.test"}
    log = open(ROOT / ".local" / "log" / "test-worker.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "core", "worker", "--loglevel=INFO", "--concurrency=2",
         "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "--without-gossip", "--without-mingle",
         "-n", f"tessera-test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    _wait_for_worker(app, proc)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _wait_for_worker(app: object, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    name = f"tessera-test-{os.getpid()}@"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the Celery worker exited; see .local/log/test-worker.log")
        replies = app.control.ping(timeout=0.5) or []  # type: ignore[attr-defined]
        if any(next(iter(reply)).startswith(name) for reply in replies):
            return
    raise RuntimeError("the Celery worker did not answer within 30s")
