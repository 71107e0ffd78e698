"""`manage.py tenant_shell <slug>` (`make shell TENANT=<slug>`) runs code inside the tenant's context."""

from __future__ import annotations

import os
import subprocess
import sys

from tenants import services
from tests.conftest import ROOT
from tests.tenants.conftest import provision

CODE = ("from routers import current_tenant\nfrom projects.models import Project\n"
        "Project.objects.create(name='from the shell', key=f'SH{Project.objects.count()}')\n"
        "print('inside', current_tenant().slug, current_tenant().database, Project.objects.count())\n")


def _last_line(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stdout.strip().splitlines()[-1].split()  # after Django's "N objects imported" line


def _tenant_shell(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.test"}
    return subprocess.run([sys.executable, "manage.py", "tenant_shell", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_the_shell_runs_code_inside_the_tenants_context(servers: None) -> None:
    tenant = provision("p-shell", server="b")
    provision("p-shell-other", server="a")
    with_c = _tenant_shell("p-shell", "-c", CODE)
    assert with_c.returncode == 0, with_c.stderr
    assert _last_line(with_c) == ["inside", "p-shell", tenant.database, "1"]
    from_stdin = _tenant_shell("p-shell", stdin=CODE)
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert _last_line(from_stdin) == ["inside", "p-shell", tenant.database, "2"]  # same database
    other = _tenant_shell("p-shell-other", "-c", CODE)
    assert _last_line(other)[-1] == "1", other.stderr  # the other tenant's database is its own


def test_the_shell_refuses_an_unknown_or_inactive_tenant_clearly(servers: None) -> None:
    unknown = _tenant_shell("p-nobody", "-c", "print('ran')")
    assert unknown.returncode == 1 and "ran" not in unknown.stdout
    assert "Tenant 'p-nobody' does not exist." in unknown.stderr
    provision("p-shell-off", server="b")
    services.tenant_suspend(slug="p-shell-off")
    suspended = _tenant_shell("p-shell-off", "-c", "print('ran')")
    assert suspended.returncode == 1 and "ran" not in suspended.stdout
    assert "Tenant 'p-shell-off' is suspended, not active." in suspended.stderr


def test_make_shell_passes_the_tenant_to_the_command() -> None:
    def dry_run(*args: str) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
        result = subprocess.run(["make", "-n", "--no-print-directory", "shell", *args], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return [line for line in result.stdout.splitlines() if "manage.py" in line][-1]

    assert dry_run("TENANT=demo").endswith("manage.py tenant_shell demo")
    assert dry_run().endswith("manage.py shell")
