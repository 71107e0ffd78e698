"""Fixtures for the platform API: a platform admin with a token, and helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from rest_framework.authtoken.models import Token

from tenants import provisioning, selectors, services
from tenants.models import JobStatus, Tenant
from tests.api import Api
from tests.conftest import ROOT, free_port, wait_for  # noqa: F401 - re-exported for the tenant tests


@pytest.fixture
def servers(control_db: None) -> None:
    """DatabaseServer rows as `migrate` leaves them (the control-plane truncation between tests drops them)."""
    services.servers_sync()


@pytest.fixture
def platform(control_db: None, celery_worker_process: object) -> Api:
    services.servers_sync()  # fixture-free: other packages import only this fixture
    admin = User.objects.create_user("platform-admin", password="platform-pw", is_staff=True, is_superuser=True)
    token = Token.objects.create(user=admin)
    return Api(Client(), token.key)


def worker_command(name: str, queue: str | None = None) -> list[str]:
    """Return the command line of a one-process Celery worker (on the test queue by default)."""
    return [sys.executable, "-m", "celery", "-A", "core", "worker", "-Q", queue or settings.CELERY_TASK_DEFAULT_QUEUE,
            "--concurrency=1", "--without-gossip", "--without-mingle", "-n", f"{name}@%h", "--loglevel=WARNING"]


def run_django(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run Python `code` in a fresh process with Django set up on the test settings (plus `env`)."""
    script = "import django; django.setup()\n" + code
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.test", **env})


def provision(slug: str, server: str = "b", **extra: Any) -> Tenant:
    """Create and provision a tenant in this process (nothing queued); return it active."""
    tenant, _ = services.tenant_create(slug=slug, name=slug, admin_email=f"owner@{slug}.test",
                                       admin_password="owner-pass-1", server=server, enqueue=False, **extra)
    job = selectors.latest_job(tenant=tenant)
    assert job is not None and provisioning.job_run(job_id=job.pk) == JobStatus.DONE
    tenant.refresh_from_db()
    return tenant


class Background(threading.Thread):
    """Run `target` in a thread with its own database connections, closed when it ends."""

    def __init__(self, target: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.work = target
        self.result: object = None

    def run(self) -> None:
        try:
            self.result = self.work()
        finally:
            connections.close_all()


def new_tenant(slug: str, **extra: Any) -> dict[str, Any]:
    return {"slug": slug, "name": slug.title(), "admin_email": f"owner@{slug}.test",
            "admin_password": "owner-pass-1", **extra}
