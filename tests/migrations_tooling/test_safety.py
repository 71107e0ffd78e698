"""Safety of fleet runs: lint before anything is applied, resume overrides, retries, dead runs, drift."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import override_settings

from core.dbservers import configured_servers
from migrations_tooling import runner, services
from migrations_tooling.locks import DATABASE_LOCK, run_lock_held
from migrations_tooling.models import MigrationRecord, MigrationRun
from tenants.templates import fingerprint, template_state
from tests.conftest import ROOT
from tests.migrations_tooling.conftest import UNSAFE, V2, connect, has_color, run, sql, statuses

CONTROL_PLANES = {**settings.DATABASE_PLANES,
                  "tenant": [a for a in settings.DATABASE_PLANES["tenant"] if a != "fleetapp"],
                  "control": [*settings.DATABASE_PLANES["control"], "fleetapp"]}


def control_has(name: str) -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1 FROM django_migrations WHERE app = 'fleetapp' AND name = %s", [name])
        return cursor.fetchone() is not None


def has_name(slug: str) -> bool:
    return bool(sql(slug, "SELECT 1 FROM information_schema.columns WHERE table_name = 'fleetapp_widget' "
                          "AND column_name = 'name'"))


def test_an_unsafe_migration_is_refused_before_anything_is_applied_and_resumes_with_allow_unsafe(
        fleet: list[str]) -> None:
    before = {server: template_state(server) for server in configured_servers()}
    with override_settings(MIGRATION_MODULES=UNSAFE):
        refused = run(parallel=2)
        assert refused.status == "refused" and "0002_drop_name" in refused.error
        assert any(f["blocking"] and f["code"] == "DROP_COLUMN" for f in refused.lint)
        # Nothing anywhere: not the control plane, not the templates, not a tenant.
        assert not control_has("0002_drop_name")
        assert {server: template_state(server) for server in configured_servers()} == before
        assert all(has_name(slug) for slug in fleet)
        with pytest.raises(CommandError, match="refused"):
            call_command("migrate_tenants", "--resume", str(refused.pk))  # same options: refused again
        call_command("migrate_tenants", "--resume", str(refused.pk), "--allow-unsafe", "--parallel", "3")
        resumed = MigrationRun.objects.get(pk=refused.pk)
        assert resumed.status == "done" and not any(has_name(slug) for slug in fleet)
        assert resumed.options["allow_unsafe"] is True and resumed.options["parallel"] == 3
        assert resumed.options["resumes"][-1]["overrides"] == {"allow_unsafe": True, "parallel": 3}
        assert resumed.options["resumes"][-1]["by"] == "cli"
        assert control_has("0002_drop_name") and template_state("a") == fingerprint()


def test_the_control_planes_pending_migrations_are_linted_too(fleet: list[str]) -> None:
    before = {server: template_state(server) for server in configured_servers()}
    with override_settings(MIGRATION_MODULES=UNSAFE, DATABASE_PLANES=CONTROL_PLANES):
        refused = run(parallel=2)
    assert refused.status == "refused" and "fleetapp.0002_drop_name (DROP_COLUMN)" in refused.error
    assert not control_has("0002_drop_name")
    assert {server: template_state(server) for server in configured_servers()} == before


@pytest.mark.parametrize(("lock_timeout_ms", "statement_timeout_ms", "code"),
                         [(100, 60_000, "lock timeout"), (0, 100, "statement timeout")],
                         ids=["lock_timeout", "statement_timeout"])
def test_a_lock_held_elsewhere_is_waited_out_with_retries(
        fleet: list[str], lock_timeout_ms: int, statement_timeout_ms: int, code: str,
        caplog: pytest.LogCaptureFixture) -> None:
    holder = connect("p-fleet-0")
    holder.autocommit = False
    holder.cursor().execute("LOCK TABLE fleetapp_widget IN ACCESS SHARE MODE")  # blocks ALTER TABLE
    seen: dict[str, str] = {}
    retried = LogEvent("p-fleet-0: ", ", retry 1 of ")

    def release() -> None:  # once the run has hit the lock and said it retries: no clock involved
        retried.wait(timeout=300)
        seen["status"] = MigrationRecord.objects.filter(database_label="p-fleet-0").latest("id").status
        connections.close_all()
        holder.rollback()

    releaser = threading.Thread(target=release, daemon=True)
    releaser.start()
    logging.getLogger("tessera.migrations").addHandler(retried)
    try:
        # Retries back off up to 5 s each: 30 of them leave the releaser minutes, however loaded the machine.
        with override_settings(MIGRATION_MODULES=V2, MIGRATE_LOCK_TIMEOUT_MS=lock_timeout_ms,
                               MIGRATE_STATEMENT_TIMEOUT_MS=statement_timeout_ms, MIGRATE_LOCK_RETRIES=30), \
                caplog.at_level("WARNING", logger="tessera.migrations"):
            result = run(tenants=["p-fleet-0"])
    finally:
        logging.getLogger("tessera.migrations").removeHandler(retried)
        retried.set()
        releaser.join()
        holder.close()
    assert seen["status"] == "running"  # the ledger shows the database while it waits
    record = MigrationRecord.objects.get(run=result, database_label="p-fleet-0")
    assert result.status == "done" and record.status == "done" and record.attempts >= 2
    assert has_color("p-fleet-0")
    assert f"p-fleet-0: {code}, retry 1 of 30" in caplog.text


class LogEvent(logging.Handler):
    """An event set when a log record's message contains every given fragment."""

    def __init__(self, *fragments: str) -> None:
        super().__init__()
        self.fragments, self.event = fragments, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if all(fragment in record.getMessage() for fragment in self.fragments):
            self.event.set()

    def wait(self, timeout: float) -> bool:
        return self.event.wait(timeout)

    def set(self) -> None:
        self.event.set()


def test_retries_are_bounded_and_the_ledger_says_why(fleet: list[str]) -> None:
    holder = connect("p-fleet-0")
    holder.autocommit = False
    holder.cursor().execute("LOCK TABLE fleetapp_widget IN ACCESS SHARE MODE")
    try:
        with override_settings(MIGRATION_MODULES=V2, MIGRATE_LOCK_TIMEOUT_MS=50, MIGRATE_LOCK_RETRIES=1):
            result = run(tenants=["p-fleet-0"])
    finally:
        holder.close()
    record = MigrationRecord.objects.get(run=result, database_label="p-fleet-0")
    assert result.status == "failed" and record.attempts == 2 and "lock timeout" in record.error
    with override_settings(MIGRATION_MODULES=V2):
        assert runner.execute(result.pk).status == "done"


def kill_mid_run(run_id: int, slug: str) -> Callable[[], None]:
    """Start `run_id` in another process, blocked on `slug`; return a function that SIGKILLs it."""
    blocker = connect(slug)
    blocker.cursor().execute("SELECT pg_advisory_lock(%s, %s)", DATABASE_LOCK)  # the database is "busy"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.test", "MIGRATE_LOCK_RETRIES": "10000"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys, django; django.setup(); from migrations_tooling import runner; "
                               "runner.execute(int(sys.argv[1]))", str(run_id)],
        cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while not MigrationRecord.objects.filter(run_id=run_id, database_label=slug, status="running").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the run never reached the database"
        time.sleep(0.05)

    def kill() -> None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        blocker.close()
        deadline = time.monotonic() + 60
        while run_lock_held():  # the server notices the dead process's connection
            assert time.monotonic() < deadline
            time.sleep(0.05)

    return kill


def unmigrate(slug: str) -> None:
    """Take fleetapp out of `slug`'s database: its 0001_initial is pending again."""
    sql(slug, "DROP TABLE fleetapp_widget; DELETE FROM django_migrations WHERE app = 'fleetapp'")


def test_a_run_whose_process_died_is_detected_and_resumed(fleet: list[str]) -> None:
    unmigrate("p-fleet-1")
    dead = runner.start_run(runner.RunOptions(tenants=["p-fleet-1", "p-fleet-2"]))
    kill = kill_mid_run(dead.pk, "p-fleet-1")
    with pytest.raises(services.RunNotResumable, match="running"):  # alive: not resumable
        services.migration_run_resume(run=MigrationRun.objects.get(pk=dead.pk), overrides={}, requested_by="t")
    kill()
    stuck = MigrationRun.objects.get(pk=dead.pk)
    assert stuck.status == "running" and statuses(stuck)["p-fleet-1"] == "running"
    services.migration_run_resume(run=stuck, overrides={}, requested_by="t")
    resumed = runner.execute(dead.pk)
    assert resumed.status == "done" and statuses(resumed)["p-fleet-1"] == "done"
    assert MigrationRecord.objects.get(run=resumed, database_label="p-fleet-1").applied == ["fleetapp.0001_initial"]
    assert sql("p-fleet-1", "SELECT count(*) FROM fleetapp_widget") == [(0,)]


def test_drift_reports_missing_and_unknown_migrations_on_tenants_and_the_control_plane(
        fleet: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    call_command("migrate_tenants", "--check-drift")
    assert "0 of 9 database(s) drifted" in capsys.readouterr().out  # control, 2 templates, 6 tenants
    sql("p-fleet-3", "INSERT INTO django_migrations (app, name, applied) VALUES ('fleetapp', '0099_ghost', now())")
    with connections["default"].cursor() as cursor:
        cursor.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('tenants', '0099_ghost', now())")
    try:
        with override_settings(MIGRATION_MODULES=V2), pytest.raises(CommandError, match="drift"):
            call_command("migrate_tenants", "--check-drift")
    finally:
        with connections["default"].cursor() as cursor:
            cursor.execute("DELETE FROM django_migrations WHERE name = '0099_ghost'")
    out = capsys.readouterr().out
    assert "DRIFT p-fleet-3: missing ['fleetapp.0002_widget_color'] unknown ['fleetapp.0099_ghost']" in out
    assert "DRIFT control: missing ['fleetapp.0002_widget_color'] unknown ['tenants.0099_ghost']" in out
    assert "DRIFT template:a: missing ['fleetapp.0002_widget_color']" in out
    assert "9 of 9 database(s) drifted" in out
