"""The Celery application (Redis broker), configured from Django settings."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings.local")

app = Celery("tessera")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # task outcomes reach /metrics through CoreConfig.ready() (core.metrics_celery)


@app.task(name="core.ping")
def ping() -> str:
    """Answer "pong": lets health checks and tests prove a worker is consuming."""
    return "pong"
