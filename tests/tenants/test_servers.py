"""DatabaseServer rows follow TENANT_DB_SERVERS at start-up; reading them never writes."""

from __future__ import annotations

import os
import subprocess

from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext

from core.dbservers import configured_servers
from tenants.models import DatabaseServer
from tests.api import Api
from tests.conftest import ROOT
from tests.tenants.conftest import wait_for, worker_command


def _names() -> set[str]:
    return set(DatabaseServer.objects.filter(configured=True).values_list("name", flat=True))


def test_migrating_the_control_database_syncs_the_servers(control_db: None) -> None:
    DatabaseServer.objects.all().delete()
    call_command("migrate", database="default", verbosity=0, interactive=False)
    assert _names() == set(configured_servers())


def test_a_starting_worker_syncs_the_servers(control_db: None) -> None:
    DatabaseServer.objects.all().delete()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.test"}
    worker = subprocess.Popen(worker_command("sync", queue="tessera-test-sync"), cwd=ROOT, env=env,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _names() == set(configured_servers()), 60, "the worker's server sync")
    finally:
        worker.terminate()
        worker.wait(20)


def test_listing_servers_only_reads(platform: Api) -> None:
    DatabaseServer.objects.filter(name="a").update(configured=False, replicas=0)  # drifted from the environment
    with CaptureQueriesContext(connections["default"]) as control:
        servers = {row["name"]: row for row in platform.get("/api/platform/servers/").json()}
    assert servers["a"]["configured"] is False and servers["a"]["replicas"] == 0
    statements = [query["sql"].split()[0].upper() for query in control]
    assert statements and set(statements) == {"SELECT"}, statements
