"""Every environment variable the project reads is documented in docs/configuration.md."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = pytest.mark.unit

READS = re.compile(r"""(?:env\.[a-z_]+|environ\.get)\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def _read_variables() -> set[str]:
    names: set[str] = set()
    for folder in ("core", "routers", "tenants", "migrations_tooling", "projects", "infra"):
        for path in (ROOT / folder).rglob("*.py"):
            names.update(READS.findall(path.read_text()))
    return names


def test_every_environment_variable_is_documented_with_its_default() -> None:
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", (ROOT / "docs" / "configuration.md").read_text(),
                                re.MULTILINE))
    read = _read_variables()
    assert len(read) > 40  # the pattern still finds the settings
    assert read - documented == set()


def test_the_production_compose_file_runs_every_role_with_documented_settings() -> None:
    compose = yaml.safe_load((ROOT / "infra" / "production" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "migrate", "postgres-a", "postgres-a-replica", "pgbouncer-a",
            "pgbouncer-a-replica", "redis"} <= set(services)
    documented = (ROOT / "docs" / "configuration.md").read_text()
    for name in services["web"]["environment"]:
        assert f"`{name}`" in documented, name
    assert "pgbouncer" not in services["migrate"]["environment"]["DATABASE_URL"]  # DDL goes direct


def test_the_documented_allowed_hosts_default_is_the_codes() -> None:
    base = (ROOT / "core" / "settings" / "base.py").read_text()
    code = re.search(r'env\.list\("ALLOWED_HOSTS", default=\[([^\]]*)\]\)', base)
    docs = re.search(r"^\| `ALLOWED_HOSTS` \| `([^`]*)`", (ROOT / "docs" / "configuration.md").read_text(),
                     re.MULTILINE)
    assert code and docs
    assert re.findall(r'"([^"]+)"', code.group(1)) == docs.group(1).split(",")
    assert ".test" in docs.group(1).split(",")
