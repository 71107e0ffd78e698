"""A broker outage on the migrations API: a JSON 503 and no `queued` run that nothing will execute."""

from __future__ import annotations

import json

from migrations_tooling.models import MigrationRun, RunStatus
from tests.api import Api
from tests.tenants.conftest import free_port, run_django

# Runs in a separate process whose app points at a port where no broker listens.
REQUESTS = """
import json
from django.test import Client

client, auth = Client(), {"HTTP_AUTHORIZATION": "Token %(token)s"}
calls = {
    "start": lambda: client.post("/api/platform/migration-runs/", {}, content_type="application/json", **auth),
    "resume": lambda: client.post("/api/platform/migration-runs/%(run)s/resume/", {"parallel": 3},
                                  content_type="application/json", **auth),
}
print(json.dumps({name: [r.status_code, r.json()] for name, r in ((n, call()) for n, call in calls.items())}))
"""


def test_a_broker_outage_is_a_503_and_leaves_no_queued_run(platform: Api) -> None:
    failed = MigrationRun.objects.create(status=RunStatus.FAILED, options={"parallel": 1}, error="boom")
    runs_before = set(MigrationRun.objects.values_list("pk", flat=True))

    code = REQUESTS % {"token": platform.token, "run": failed.pk}
    result = run_django(code, CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/1")
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ("start", "resume"):
        status, body = answers[name]
        assert status == 503 and body["code"] == "queue_unavailable" and body["detail"], (name, body)

    assert set(MigrationRun.objects.values_list("pk", flat=True)) == runs_before
    failed.refresh_from_db()
    assert failed.status == RunStatus.FAILED and failed.options == {"parallel": 1} and failed.error == "boom"
