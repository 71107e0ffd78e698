"""A tenant task the routing tests queue to a real worker (autodiscovered: the app is installed in tests)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

from projects.models import Project
from routers.tasks import TenantTask


@shared_task(base=TenantTask, name="tests.read_project_by_key")
def read_project_by_key(key: str, marker: str) -> None:
    """Read a project the way task code does (routed) and leave what it saw in the tenant's cache."""
    projects = Project.objects.filter(key=key)
    cache.set(f"seen:{marker}", {"db": projects.db, "found": projects.exists()}, 60)
    logging.getLogger("tessera.tests").warning("probe %s done", marker)  # tests read the worker's log
