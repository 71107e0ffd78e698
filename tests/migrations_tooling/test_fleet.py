"""migrate_tenants against real tenant databases: no-op, one migration, failure + resume, locks,
canary, plan, progress."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from core.dbservers import configured_servers
from migrations_tooling import runner
from migrations_tooling.locks import RunInProgress, fleet_lock
from migrations_tooling.models import MigrationRecord, MigrationRun
from tenants.templates import fingerprint, template_state
from tests.migrations_tooling.conftest import V2, has_color, run, sql, statuses, tenant_records


def test_a_no_op_run_skips_every_database(fleet: list[str]) -> None:
    result = run(parallel=2)
    assert result.status == "done"
    assert statuses(result) == {"control": "skipped", "template:a": "skipped", "template:b": "skipped",
                                **{slug: "skipped" for slug in fleet}}


def test_one_migration_reaches_every_database_the_templates_and_the_control_ledger(fleet: list[str]) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        result = run(parallel=3)
        assert result.status == "done", result.error
        records = list(tenant_records(result))
        assert {r.status for r in records} == {"done"} and len(records) == 6
        assert all(r.applied == ["fleetapp.0002_widget_color"] and r.duration_ms is not None for r in records)
        assert all(has_color(slug) for slug in fleet)
        control = MigrationRecord.objects.get(run=result, database_label="control")
        assert control.status == "done" and control.applied == ["fleetapp.0002_widget_color"]
        for server in configured_servers():  # migrated in place, so new tenants are born current
            template = MigrationRecord.objects.get(run=result, database_label=f"template:{server}")
            assert template.status == "done" and template.applied == ["fleetapp.0002_widget_color"]
            assert template_state(server) == fingerprint()
        again = run(parallel=3)
        assert set(statuses(again).values()) == {"skipped"}  # and now a no-op


def test_a_failing_database_does_not_stop_the_others_and_resume_finishes_it(fleet: list[str]) -> None:
    sql("p-fleet-2", "ALTER TABLE fleetapp_widget ADD COLUMN color integer")  # conflicting, by hand
    with override_settings(MIGRATION_MODULES=V2):
        result = run(parallel=2, continue_on_error=True)
        assert result.status == "failed" and "p-fleet-2" in result.error
        failed = MigrationRecord.objects.get(run=result, database_label="p-fleet-2")
        assert failed.status == "failed" and "color" in failed.error and failed.applied == []
        assert tenant_records(result).filter(status="done").count() == 5
        sql("p-fleet-2", "ALTER TABLE fleetapp_widget DROP COLUMN color")  # the fix
        resumed = runner.execute(result.pk)
        assert resumed.status == "done"
        assert MigrationRecord.objects.get(run=result, database_label="p-fleet-2").status == "done"
        # Only the failed database ran again.
        assert MigrationRecord.objects.get(run=result, database_label="p-fleet-2").attempts == 2
        assert set(tenant_records(result).exclude(database_label="p-fleet-2")
                   .values_list("attempts", flat=True)) == {1}
        assert all(has_color(slug) for slug in fleet)


def test_without_continue_on_error_the_run_stops_at_the_first_failure(fleet: list[str]) -> None:
    sql("p-fleet-0", "ALTER TABLE fleetapp_widget ADD COLUMN color integer")
    with override_settings(MIGRATION_MODULES=V2):
        result = run(parallel=1)
    assert result.status == "failed"
    assert statuses(result)["p-fleet-0"] == "failed"
    assert tenant_records(result).filter(status="pending").count() == 5


def test_a_canary_failure_stops_the_run_before_the_rest_and_the_templates(fleet: list[str]) -> None:
    sql("p-fleet-1", "ALTER TABLE fleetapp_widget ADD COLUMN color integer")
    with override_settings(MIGRATION_MODULES=V2):
        result = run(parallel=2, canary=2, continue_on_error=True)
        assert result.status == "failed" and "canary" in result.error
        found = statuses(result)
        assert found["p-fleet-0"] == "done" and found["p-fleet-1"] == "failed"
        assert [found[s] for s in fleet[2:]] == ["pending"] * 4
        # New tenants are not born with a migration the canary has not proven.
        assert found["template:a"] == found["template:b"] == "pending"
        assert all(template_state(server) != fingerprint() for server in configured_servers())


def test_a_second_concurrent_run_is_refused_and_a_queued_run_is_not_left_queued(fleet: list[str]) -> None:
    pending = runner.start_run(runner.RunOptions())
    with fleet_lock(), pytest.raises(RunInProgress, match="in progress"):
        runner.execute(pending.pk)
    pending.refresh_from_db()
    assert pending.status == "failed" and f"Resume run {pending.pk}" in pending.error
    with fleet_lock(), pytest.raises(CommandError, match="in progress"):
        call_command("migrate_tenants")
    assert not MigrationRun.objects.filter(pk__gte=pending.pk, status="queued").exists()
    assert runner.execute(pending.pk).status == "done"  # resumed once the other run is over


def test_plan_lists_pending_migrations_with_sql_and_changes_nothing(fleet: list[str], capsys: object) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        call_command("migrate_tenants", "--plan", "--sql", "--tenants", "p-fleet-0,p-fleet-1")
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "control: fleetapp.0002_widget_color" in out
    assert "4 database(s): fleetapp.0002_widget_color" in out  # two tenants and two templates
    assert "template:a" in out and 'ADD COLUMN "color"' in out
    assert not has_color("p-fleet-0")


def test_the_command_prints_progress_and_a_summary(fleet: list[str], capsys: object) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        call_command("migrate_tenants", "--parallel", "2")
    captured = capsys.readouterr()  # type: ignore[attr-defined]
    assert "control plane: applied 1 migration(s)" in captured.err
    assert "6 tenant database(s) and 2 template(s) to migrate" in captured.err
    lines = [line for line in captured.err.splitlines() if "migrated" in line]
    assert lines[-1] == "8/8 database(s) migrated, 0 failed" and lines.count(lines[-1]) == 1  # never 9/8, once
    assert len(lines) <= 10  # a log gets a line per 10%, not one per database
    assert "done" in captured.out
