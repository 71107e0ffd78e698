"""Migration runs through the platform API and a real Celery worker: start, resume, dead runs, drift."""

from __future__ import annotations

import time
from typing import Any

from migrations_tooling import runner
from migrations_tooling.locks import fleet_lock
from tests.api import Api
from tests.migrations_tooling.conftest import sql
from tests.migrations_tooling.test_safety import kill_mid_run, unmigrate

RUNS = "/api/platform/migration-runs/"


def wait_run(platform: Api, run_id: int, wanted: tuple[str, ...] = ("done", "failed", "refused"),
             timeout: float = 60) -> dict[str, Any]:
    deadline, body = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        body = platform.get(f"{RUNS}{run_id}/").json()
        if body["status"] in wanted:
            return body
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {body.get('status')}: {body}")


def test_a_real_migration_runs_through_the_api_and_resumes_with_new_options(
        platform: Api, fleet: list[str]) -> None:
    for slug in fleet:
        unmigrate(slug)  # fleetapp.0001_initial is pending everywhere
    sql("p-fleet-4", "CREATE TABLE fleetapp_widget (id integer)")  # in the way, by hand
    started = platform.post(RUNS, {"parallel": 2, "tenants": fleet})
    assert started.status_code == 202, started.content
    run_id = started.json()["id"]
    failed = wait_run(platform, run_id)
    assert failed["status"] == "failed" and "p-fleet-4" in failed["error"]
    records = {r["database_label"]: r for r in failed["records"]}
    assert records["p-fleet-4"]["status"] == "failed" and "already exists" in records["p-fleet-4"]["error"]
    assert records["control"]["status"] == "skipped"
    sql("p-fleet-4", "DROP TABLE fleetapp_widget")  # the fix
    resumed = platform.post(f"{RUNS}{run_id}/resume/", {"parallel": 3, "continue_on_error": True})
    assert resumed.status_code == 202, resumed.content
    body = wait_run(platform, run_id)
    assert body["status"] == "done", body
    tenants = [r for r in body["records"] if r["database_label"] in fleet]
    assert {r["status"] for r in tenants} == {"done"} and len(tenants) == 6
    assert all(r["applied"] == ["fleetapp.0001_initial"] for r in tenants)
    assert all(sql(slug, "SELECT count(*) FROM fleetapp_widget") == [(0,)] for slug in fleet)
    assert body["options"]["parallel"] == 3
    assert body["options"]["resumes"][-1]["overrides"] == {"parallel": 3, "continue_on_error": True}
    assert body["options"]["resumes"][-1]["by"] == "platform-admin"
    again = platform.post(f"{RUNS}{run_id}/resume/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    assert platform.post(f"{RUNS}{run_id}/resume/", {"parallel": 0}).status_code == 400
    assert platform.get(f"{RUNS}999999/").json()["code"] == "not_found"


def test_a_queued_run_that_finds_another_holding_the_lock_fails_clearly_then_resumes(
        platform: Api, fleet: list[str]) -> None:
    with fleet_lock():
        run_id = platform.post(RUNS, {"tenants": fleet[:2]}).json()["id"]
        body = wait_run(platform, run_id, ("failed",))
    assert "in progress" in body["error"] and f"Resume run {run_id}" in body["error"]
    assert platform.post(f"{RUNS}{run_id}/resume/").status_code == 202
    assert wait_run(platform, run_id)["status"] == "done"


def test_a_run_whose_process_died_is_resumed_through_the_api(platform: Api, fleet: list[str]) -> None:
    unmigrate("p-fleet-3")
    run_id = runner.start_run(runner.RunOptions(tenants=["p-fleet-3"])).pk
    kill = kill_mid_run(run_id, "p-fleet-3")  # executing in another process, blocked on the database
    live = platform.post(f"{RUNS}{run_id}/resume/")
    assert live.status_code == 409 and "running" in live.json()["detail"]
    kill()
    assert platform.get(f"{RUNS}{run_id}/").json()["status"] == "running"  # stale
    assert platform.post(f"{RUNS}{run_id}/resume/").status_code == 202
    body = wait_run(platform, run_id)
    assert body["status"] == "done", body
    assert [r["status"] for r in body["records"] if r["database_label"] == "p-fleet-3"] == ["done"]


def test_schema_drift_is_reported_through_the_api(platform: Api, fleet: list[str]) -> None:
    clean = platform.get(f"{RUNS}drift/").json()
    assert clean == {"checked": 9, "drifted": 0, "databases": []}
    sql("p-fleet-5", "INSERT INTO django_migrations (app, name, applied) VALUES ('fleetapp', '0099_ghost', now())")
    body = platform.get(f"{RUNS}drift/").json()
    assert body["drifted"] == 1 and body["databases"] == [{
        "database_label": "p-fleet-5", "server": "b", "database": body["databases"][0]["database"],
        "missing": [], "unknown": ["fleetapp.0099_ghost"], "error": ""}]
    assert platform.get(f"{RUNS}drift/", token="nope").status_code == 401


def test_an_unknown_slug_is_refused_and_nothing_is_queued(platform: Api, fleet: list[str]) -> None:
    from migrations_tooling.models import MigrationRun

    runs = MigrationRun.objects.count()
    refused = platform.post(RUNS, {"tenants": [fleet[0], "nosuchslug"]})
    assert refused.status_code == 400 and refused.json()["code"] == "unknown_tenants"
    assert "nosuchslug" in refused.json()["detail"] and MigrationRun.objects.count() == runs
