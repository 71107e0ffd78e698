"""migrate_tenants as a script sees it: exit codes, --sql, --check, JSON, unknown migrations, -v 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from migrations_tooling import runner
from migrations_tooling.exitcodes import ExitCode
from migrations_tooling.locks import fleet_lock
from migrations_tooling.models import MigrationRun
from tests.conftest import ROOT
from tests.migrations_tooling.conftest import UNSAFE, V2, has_color, sql, statuses
from tests.migrations_tooling.test_safety import control_has


def exit_code(*args: str) -> int:
    """Run migrate_tenants in-process; return the exit code it would give."""
    try:
        call_command("migrate_tenants", *args)
    except CommandError as exc:
        return exc.returncode
    return 0


def test_sql_implies_plan_applies_nothing_and_records_no_run(fleet: list[str], capsys: object) -> None:
    runs = MigrationRun.objects.count()
    with override_settings(MIGRATION_MODULES=V2):
        call_command("migrate_tenants", "--sql", "--tenants", "p-fleet-0")
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert 'ADD COLUMN "color"' in out and "run " not in out
    assert MigrationRun.objects.count() == runs
    assert not has_color("p-fleet-0") and not control_has("0002_widget_color")


@pytest.mark.parametrize("option", ["--tenants", "--exclude"])
def test_an_unknown_slug_is_a_usage_error(fleet: list[str], option: str) -> None:
    with pytest.raises(CommandError, match="nosuchslug") as caught:
        call_command("migrate_tenants", "--plan", option, "p-fleet-0,nosuchslug")
    assert caught.value.returncode == ExitCode.USAGE == 2
    runs = MigrationRun.objects.count()
    assert exit_code(option, "nosuchslug") == 2 and MigrationRun.objects.count() == runs


def test_the_process_exits_with_the_documented_code(fleet: list[str]) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.test"}
    proc = subprocess.run([sys.executable, "manage.py", "migrate_tenants", "--plan", "--tenants", "nosuchslug"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "nosuchslug" in proc.stderr


def test_plan_as_json_lists_every_database_and_the_code_version(fleet: list[str], capsys: object) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        call_command("migrate_tenants", "--plan", "--format", "json")
    document = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert document["tenants"] == 6 and document["templates"] == 2 and document["pending"] == 8
    assert document["control"]["pending"] == ["fleetapp.0002_widget_color"]
    assert {d["label"] for d in document["databases"]} == {*fleet, "template:a", "template:b"}
    assert document["unknown"] == [] and len(document["code_version"]) == 16


def test_check_exits_5_when_anything_is_pending_and_0_when_current(fleet: list[str]) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        assert exit_code("--check", "-v", "0") == ExitCode.DRIFT == 5
        assert not has_color("p-fleet-0")
        assert exit_code("-v", "0") == 0
        assert exit_code("--check", "-v", "0") == 0


def test_drift_as_json_and_its_exit_code(fleet: list[str], capsys: object) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        assert exit_code("--check-drift", "--format", "json") == 5
    report = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert report["drifted"] == report["checked"]
    assert all(entry["missing"] == ["fleetapp.0002_widget_color"] for entry in report["databases"])


def test_a_run_refuses_databases_ahead_of_the_code_unless_allowed(fleet: list[str], capsys: object) -> None:
    sql("p-fleet-3", "INSERT INTO django_migrations (app, name, applied) VALUES ('fleetapp', '0099_future', now())")
    with override_settings(MIGRATION_MODULES=V2):
        call_command("migrate_tenants", "--plan")
        assert "UNKNOWN p-fleet-3: fleetapp.0099_future" in capsys.readouterr().out  # type: ignore[attr-defined]
        assert exit_code("--parallel", "2") == ExitCode.DRIFT
        refused = MigrationRun.objects.order_by("-id").first()
        assert refused is not None and refused.status == "refused" and "p-fleet-3" in refused.error
        assert {"code": "UNKNOWN_MIGRATIONS", "database": "p-fleet-3", "migration": "fleetapp.0099_future",
                "blocking": False, "message": "p-fleet-3 holds migrations this code does not know"} in refused.lint
        assert not any(has_color(slug) for slug in fleet) and not control_has("0002_widget_color")
        assert exit_code("--resume", str(refused.pk), "--allow-unknown-migrations") == 0
        assert all(has_color(slug) for slug in fleet)


def test_a_worker_with_other_migration_code_fails_the_run_instead_of_skipping(fleet: list[str]) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        planned = runner.start_run(runner.RunOptions(parallel=2))
    stale = runner.execute(planned.pk)  # this process has the old files: a worker started before the deploy
    assert stale.status == "failed" and "not the code run" in stale.error
    assert not stale.records.exists() and not any(has_color(slug) for slug in fleet)
    with override_settings(MIGRATION_MODULES=V2):
        assert runner.execute(planned.pk).status == "done"
    assert all(has_color(slug) for slug in fleet)


def test_lint_refusal_and_the_lock_have_their_own_exit_codes(fleet: list[str]) -> None:
    with override_settings(MIGRATION_MODULES=UNSAFE):
        assert exit_code("-v", "0") == ExitCode.REFUSED == 3
    with fleet_lock():
        assert exit_code("-v", "0") == ExitCode.LOCKED == 4


def test_a_target_migration_goes_backwards_and_forwards_across_the_fleet(fleet: list[str], capsys: object) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        assert exit_code("-v", "0") == 0 and all(has_color(slug) for slug in fleet)
        call_command("migrate_tenants", "fleetapp", "zero", "--plan", "--format", "json")
        document = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
        assert document["target"] == ["fleetapp", None] and document["templates"] == 0
        assert document["databases"][0]["pending"] == ["fleetapp.0002_widget_color (unapplied)",
                                                       "fleetapp.0001_initial (unapplied)"]
        assert exit_code("fleetapp", "0001", "--parallel", "2", "-v", "0") == 0
        back = MigrationRun.objects.order_by("-id")[0]
        assert not any(has_color(slug) for slug in fleet) and not control_has("0002_widget_color")
        assert all(record.applied == ["fleetapp.0002_widget_color (unapplied)"]
                   for record in back.records.filter(database_label__in=fleet))
        assert exit_code("fleetapp", "0002_widget_color", "-v", "0") == 0
        assert all(has_color(slug) for slug in fleet) and control_has("0002_widget_color")


def test_fake_records_migrations_without_running_them(fleet: list[str]) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        assert exit_code("--fake", "--tenants", "p-fleet-0", "-v", "0") == 0
        found = statuses(MigrationRun.objects.order_by("-id")[0])
    assert found["p-fleet-0"] == "done" and "template:a" not in found  # templates follow the code
    assert not has_color("p-fleet-0")
    assert sql("p-fleet-0", "SELECT 1 FROM django_migrations WHERE name = '0002_widget_color'")


def test_verbosity_0_prints_nothing_and_json_prints_the_run(fleet: list[str], capsys: object) -> None:
    with override_settings(MIGRATION_MODULES=V2):
        call_command("migrate_tenants", "-v", "0", "--tenants", "p-fleet-0")
        captured = capsys.readouterr()  # type: ignore[attr-defined]
        assert captured.out == captured.err == ""
        call_command("migrate_tenants", "--format", "json", "--tenants", "p-fleet-1")
    document = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert document["status"] == "done" and document["counts"]["done"] >= 1


@pytest.mark.parametrize("args", [("nosuchapp", "0001"), ("fleetapp", "0099"), ("fleetapp",),
                                  ("--resume", "1", "--tenants", "p-fleet-0")])
def test_a_bad_target_or_conflicting_options_are_usage_errors(fleet: list[str], args: tuple[str, ...]) -> None:
    runs = MigrationRun.objects.count()
    assert exit_code(*args, "-v", "0") == ExitCode.USAGE
    assert MigrationRun.objects.count() == runs
