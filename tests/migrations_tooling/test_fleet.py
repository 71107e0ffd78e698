"""migrate_tenants against real tenant databases: no-op, one migration, failure + resume, locks,
canary, lint refusal, plan, drift."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg2
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from core.dbservers import configured_servers
from migrations_tooling import runner
from migrations_tooling.locks import RunInProgress, fleet_lock
from migrations_tooling.models import MigrationRecord
from tenants import services
from tenants.models import Tenant
from tenants.templates import fingerprint, template_state
from tests.conftest import create_tenant_database

V2 = {"fleetapp": "tests.fleetapp.migrations_v2"}
UNSAFE = {"fleetapp": "tests.fleetapp.migrations_unsafe"}
SLUGS = [f"p-fleet-{i}" for i in range(6)]


def sql(slug: str, statement: str) -> list[tuple]:
    tenant = Tenant.objects.get(slug=slug)
    server = configured_servers()[tenant.server_id]
    conn = psycopg2.connect(host=server.primary.host, port=server.primary.port, user=server.user,
                            password=server.password, dbname=tenant.database)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    finally:
        conn.close()


def has_color(slug: str) -> bool:
    return bool(sql(slug, "SELECT 1 FROM information_schema.columns WHERE table_name = 'fleetapp_widget' "
                          "AND column_name = 'color'"))


@pytest.fixture
def fleet(control_db: None) -> Iterator[list[str]]:
    services.servers_sync()
    for i, slug in enumerate(SLUGS):
        spec = create_tenant_database(slug, "ab"[i % 2])
        Tenant.objects.create(slug=slug, name=slug, server_id=spec.server, database=spec.database,
                              admin_email=f"o@{slug}.test", status="active")
    yield SLUGS
    from tenants.templates import ensure_template

    for server in configured_servers():  # back to the v1 template for other tests
        ensure_template(server)


def run(**options: object) -> object:
    return runner.execute(runner.start_run(runner.RunOptions(**options)).pk)


def test_a_no_op_run_skips_every_database(fleet: list[str]) -> None:
    result = run(parallel=2)
    assert result.status == "done"
    records = MigrationRecord.objects.filter(run=result)
    assert records.count() == 6 and set(records.values_list("status", flat=True)) == {"skipped"}


def test_one_migration_reaches_every_database_in_parallel_and_the_templates(fleet: list[str]) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        result = run(parallel=3)
        assert result.status == "done", result.error
        records = list(MigrationRecord.objects.filter(run=result))
        assert {r.status for r in records} == {"done"}
        assert all(r.applied == ["fleetapp.0002_widget_color"] and r.duration_ms is not None for r in records)
        assert all(has_color(slug) for slug in fleet)
        for server in configured_servers():  # new tenants are born current
            assert template_state(server) == fingerprint()
        assert run(parallel=3).records.filter(status="skipped").count() == 6  # and now a no-op


def test_a_failing_database_does_not_stop_the_others_and_resume_finishes_it(fleet: list[str]) -> None:
    sql("p-fleet-2", "ALTER TABLE fleetapp_widget ADD COLUMN color integer")  # conflicting, by hand
    with override_settings(MIGRATION_MODULES=V2):
        result = run(parallel=2, continue_on_error=True)
        assert result.status == "failed" and "p-fleet-2" in result.error
        failed = MigrationRecord.objects.get(run=result, database_label="p-fleet-2")
        assert failed.status == "failed" and "color" in failed.error and failed.applied == []
        assert MigrationRecord.objects.filter(run=result, status="done").count() == 5
        sql("p-fleet-2", "ALTER TABLE fleetapp_widget DROP COLUMN color")  # the fix
        resumed = runner.execute(result.pk)
        assert resumed.status == "done"
        assert MigrationRecord.objects.get(run=result, database_label="p-fleet-2").status == "done"
        # Only the failed database ran again.
        assert set(MigrationRecord.objects.filter(run=result).values_list("attempts", flat=True)) == {1, 2}
        assert MigrationRecord.objects.get(run=result, database_label="p-fleet-2").attempts == 2
        assert all(has_color(slug) for slug in fleet)


def test_without_continue_on_error_the_run_stops_at_the_first_failure(fleet: list[str]) -> None:
    sql("p-fleet-0", "ALTER TABLE fleetapp_widget ADD COLUMN color integer")
    with override_settings(MIGRATION_MODULES=V2):
        result = run(parallel=1)
    assert result.status == "failed"
    assert MigrationRecord.objects.filter(run=result, status="pending").count() == 5


def test_a_canary_failure_stops_the_run_before_the_rest(fleet: list[str]) -> None:
    sql("p-fleet-1", "ALTER TABLE fleetapp_widget ADD COLUMN color integer")
    with override_settings(MIGRATION_MODULES=V2):
        result = run(parallel=2, canary=2, continue_on_error=True)
    assert result.status == "failed" and "canary" in result.error
    statuses = dict(MigrationRecord.objects.filter(run=result).values_list("database_label", "status"))
    assert statuses["p-fleet-0"] == "done" and statuses["p-fleet-1"] == "failed"
    assert [statuses[s] for s in fleet[2:]] == ["pending"] * 4


def test_a_second_concurrent_run_is_refused(fleet: list[str]) -> None:
    pending = runner.start_run(runner.RunOptions())
    with fleet_lock(), pytest.raises(RunInProgress, match="in progress"):
        runner.execute(pending.pk)
    with fleet_lock(), pytest.raises(CommandError, match="in progress"):
        call_command("migrate_tenants")


def test_unsafe_migrations_are_refused_unless_allowed(fleet: list[str]) -> None:
    with override_settings(MIGRATION_MODULES=UNSAFE):
        refused = run(parallel=2)
        assert refused.status == "refused" and "0002_drop_name" in refused.error
        assert any(f["blocking"] for f in refused.lint)
        assert MigrationRecord.objects.filter(run=refused, status="done").count() == 0
        assert sql("p-fleet-0", "SELECT count(*) FROM information_schema.columns "
                                "WHERE table_name = 'fleetapp_widget' AND column_name = 'name'") == [(1,)]
        allowed = run(parallel=2, allow_unsafe=True)
        assert allowed.status == "done"


def test_plan_lists_pending_migrations_with_sql_and_changes_nothing(fleet: list[str], capsys: object) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        call_command("migrate_tenants", "--plan", "--sql", "--tenants", "p-fleet-0,p-fleet-1")
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "2 database(s): fleetapp.0002_widget_color" in out and 'ADD COLUMN "color"' in out
    assert not has_color("p-fleet-0")


def test_drift_check_reports_databases_that_differ(fleet: list[str], capsys: object) -> None:
    sql("p-fleet-3", "INSERT INTO django_migrations (app, name, applied) VALUES ('fleetapp', '0099_ghost', now())")
    with pytest.raises(CommandError, match="drift"):
        call_command("migrate_tenants", "--check-drift")
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "DRIFT p-fleet-3" in out and "0099_ghost" in out and "1 of 6" in out


def test_the_command_prints_progress_and_a_summary(fleet: list[str], capsys: object) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        call_command("migrate_tenants", "--parallel", "2")
    captured = capsys.readouterr()  # type: ignore[attr-defined]
    assert "6 database(s) to migrate" in captured.err and "6/6" in captured.err
    assert "done" in captured.out and settings.TENANT_DB_NAME_PREFIX
