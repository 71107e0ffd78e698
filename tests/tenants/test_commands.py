"""`manage.py create_tenant` runs the job itself: no broker, no race with a worker."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from tenants import dbops, marks
from tenants.models import JobStatus, ProvisioningJob, Tenant
from tests.api import Api
from tests.conftest import ROOT
from tests.tenants.conftest import free_port

STEPS = ("template", "create_database", "admin_user", "activate")


def test_create_tenant_provisions_in_process_with_the_broker_down(servers: None) -> None:
    dead_broker = f"redis://127.0.0.1:{free_port()}/1"
    result = subprocess.run(
        [sys.executable, "manage.py", "create_tenant", "p-cli", "--admin-email", "o@p-cli.test",
         "--admin-password", "owner-pass-1", "--server", "b"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.test", "CELERY_BROKER_URL": dead_broker})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "placed on server b as tt_p_cli" in out and "p-cli is active" in out
    assert all(f"] {step} done (" in out for step in STEPS), out
    tenant = Tenant.objects.get(slug="p-cli")
    assert tenant.status == "active"
    assert dbops.database_comment("b", "tt_p_cli") == marks.owner_mark(tenant)


def test_create_tenant_is_not_raced_by_a_running_worker(platform: Api, capsys: object) -> None:
    call_command("create_tenant", "p-cli", "--admin-email", "o@p-cli.test", "--admin-password", "owner-pass-1")
    assert "p-cli is active" in capsys.readouterr().out  # type: ignore[attr-defined]
    job = ProvisioningJob.objects.get(tenant__slug="p-cli")
    assert job.status == JobStatus.DONE and job.attempts == 1  # run once, here


@pytest.mark.parametrize("email", ["not-an-email", "", "o@", "a b@c.test"])
def test_create_tenant_refuses_a_bad_admin_email_and_creates_nothing(servers: None, email: str) -> None:
    with pytest.raises(CommandError, match="validation_error: admin_email"):
        call_command("create_tenant", "p-cli", "--admin-email", email)
    assert not Tenant.objects.exists() and not dbops.database_exists("a", "tt_p_cli")


def test_make_run_prints_the_web_port_it_serves_on() -> None:
    plan = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TESSERA_WEB_PORT": "8101"})
    summary = next(line for line in plan.stdout.splitlines() if "bootstrap_demo --summary" in line)
    printed = subprocess.run(["sh", "-c", summary], cwd=ROOT, capture_output=True, text=True, timeout=120,
                             env={**os.environ, "TESSERA_WEB_PORT": "8101",
                                  "DJANGO_SETTINGS_MODULE": "core.settings.test"})
    assert printed.returncode == 0, printed.stderr
    assert "http://127.0.0.1:8101/healthz" in printed.stdout and ":8000" not in printed.stdout, printed.stdout
