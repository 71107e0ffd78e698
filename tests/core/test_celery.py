"""The real Celery worker consumes tasks from the Redis broker."""

from __future__ import annotations

import subprocess

from core.celery import app


def test_worker_answers_ping_over_the_real_broker(celery_worker_process: subprocess.Popen[bytes]) -> None:
    replies = app.control.ping(timeout=10)
    assert any("tessera-test" in next(iter(reply)) for reply in replies)
    assert celery_worker_process.poll() is None
