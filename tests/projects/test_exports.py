"""Exports: a dead broker is a clean 503, CSV cells cannot run formulas, downloads honour Accept."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from core.celery import app
from projects.models import Export
from routers import tenant_context
from tests.api import Api
from tests.conftest import free_port
from tests.core.test_metrics import scrape, value
from tests.factories import TaskFactory
from tests.projects.conftest import TenantWorld, as_user, seeded
from tests.tenants.conftest import wait_for


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point this process's task publishing at `url` (Celery's own `broker_write_url` setting)."""
    previous = app.conf.broker_write_url
    app.conf.broker_write_url = url
    try:
        yield
    finally:
        app.conf.broker_write_url = previous


def test_a_dead_broker_is_a_503_and_leaves_no_export_behind(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    member = as_user(alpha, "member")
    with broker_at(f"redis://127.0.0.1:{free_port()}/1"):
        started = time.monotonic()
        response = member.post("/api/exports/", {"project": alpha.project.pk})
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "queue_unavailable" and int(response["Retry-After"]) > 0
    assert elapsed < 5
    with tenant_context(alpha.spec):
        assert not Export.objects.exists()
    assert member.get("/api/exports/").json()["results"] == []
    # The broker is back: the same request is accepted and queued.
    again = member.post("/api/exports/", {"project": alpha.project.pk})
    assert again.status_code == 202 and again.json()["status"] == "queued"


def _finished(client: Api, export_id: int) -> dict[str, Any]:
    deadline, body = time.monotonic() + 120, {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/exports/{export_id}/").json()
        if body["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert body["status"] == "done", body
    return body


def test_exports_run_in_the_worker_with_progress_and_download(product: dict[str, TenantWorld],
                                                             celery_worker_process: object) -> None:
    alpha = product["alpha"]
    member = as_user(alpha, "member")
    for i in range(5):
        member.post("/api/tasks/", {"project": alpha.project.pk, "title": f"export me {i}"})
    queued = member.post("/api/exports/", {"project": alpha.project.pk})
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    export_id = queued.json()["id"]
    assert member.get(f"/api/exports/{export_id}/download/").status_code in (200, 409)
    body = _finished(member, export_id)
    assert body["progress"] == 1.0 and body["rows_total"] == 6, body
    download = member.get(body["download_url"])
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0][:3] == ["id", "project", "title"] and len(rows) == 7
    assert {r[1] for r in rows[1:]} == {"MAIN"}
    # Another user of the tenant does not see it; another tenant cannot reach it.
    assert as_user(alpha, "viewer").get(f"/api/exports/{export_id}/").status_code == 404
    assert as_user(alpha, "admin").get(f"/api/exports/{export_id}/").status_code == 200
    bad = member.post("/api/exports/", {"status": "nope"})
    assert bad.status_code == 400


DANGEROUS = ["=HYPERLINK(\"http://evil.test\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1"]


def test_export_cells_that_start_a_formula_are_neutralised(product: dict[str, TenantWorld],
                                                           celery_worker_process: object) -> None:
    alpha = product["alpha"]
    with seeded(alpha.spec):
        for title in [*DANGEROUS, "plain title", "a-b=c"]:
            TaskFactory(project=alpha.project, title=title, tags=["-tag"])
    member = as_user(alpha, "member")
    export = _finished(member, member.post("/api/exports/", {"project": alpha.project.pk}).json()["id"])
    rows = list(csv.reader(io.StringIO(member.get(export["download_url"]).content.decode(), newline="")))
    titles = {row[2] for row in rows[1:]}
    assert {"'" + title for title in DANGEROUS} <= titles
    assert {"plain title", "a-b=c"} <= titles  # only a leading trigger character is escaped
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
    assert all(row[6] == "'-tag" for row in rows[1:] if row[2] != "alpha first task")  # the tags cell is escaped too


def test_download_answers_an_accept_text_csv_request(product: dict[str, TenantWorld],
                                                     celery_worker_process: object) -> None:
    alpha = product["alpha"]
    member = as_user(alpha, "member")
    export = _finished(member, member.post("/api/exports/", {}).json()["id"])
    for accept in ("text/csv", "text/csv; charset=utf-8", "*/*", "application/json"):
        response = member.client.get(export["download_url"], HTTP_ACCEPT=accept, **member.headers())
        assert response.status_code == 200, (accept, response.content)
        assert response["Content-Type"].startswith("text/csv")
        assert response.content.decode().startswith("id,project,title")
    # Errors stay JSON even when the client asked for CSV.
    with seeded(alpha.spec):
        pending = Export.objects.create(requested_by=alpha.users["member"])
    for path, status in ((f"/api/exports/{pending.pk}/download/", 409), ("/api/exports/999999/download/", 404)):
        response = member.client.get(path, HTTP_ACCEPT="text/csv", **member.headers())
        assert response.status_code == status and response["Content-Type"] == "application/json"
        assert response.json()["code"] in ("export_not_ready", "not_found")


def test_ended_exports_are_counted_with_their_duration_in_metrics(product: dict[str, TenantWorld],
                                                                  celery_worker_process: object) -> None:
    member = as_user(product["alpha"], "member")
    before = value(scrape(), "tessera_exports_total", outcome="done")
    _finished(member, member.post("/api/exports/", {}).json()["id"])
    # The worker counts the export just after it reports it done, in the shared metrics directory.
    wait_for(lambda: value(scrape(), "tessera_exports_total", outcome="done") == before + 1, 60,
             "the export counted in /metrics")
    families = scrape()
    assert value(families, "tessera_export_duration_seconds_count", outcome="done") >= 1
    assert value(families, "tessera_export_duration_seconds_sum", outcome="done") > 0
