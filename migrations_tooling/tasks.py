"""Celery task for migration runs started through the platform API (thin: calls the runner)."""

from __future__ import annotations

from celery import shared_task

from migrations_tooling import runner


@shared_task(name="migrations_tooling.execute_run", acks_late=False)
def execute_run(run_id: int) -> str:
    return runner.execute(run_id).status
