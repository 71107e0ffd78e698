"""A broker outage on the platform API: a JSON 503 and nothing half-created or half-changed."""

from __future__ import annotations

import json

from tenants import dbops
from tenants.models import JobStatus, ProvisioningJob, Tenant
from tests.api import Api
from tests.tenants.conftest import free_port, new_tenant, provision, run_django

# Runs in a separate process whose app points at a port where no broker listens.
REQUESTS = """
import json
from django.test import Client

client, auth = Client(), {"HTTP_AUTHORIZATION": "Token %(token)s"}
calls = {
    "create": lambda: client.post("/api/platform/tenants/", %(payload)s, content_type="application/json", **auth),
    "delete": lambda: client.delete("/api/platform/tenants/p-live/", **auth),
    "retry": lambda: client.post("/api/platform/tenants/p-broken/retry/", **auth),
}
print(json.dumps({name: [r.status_code, r.json()] for name, r in ((n, call()) for n, call in calls.items())}))
"""


def test_a_broker_outage_is_a_503_that_leaves_everything_as_it_was(platform: Api) -> None:
    live = provision("p-live")
    broken = provision("p-broken")
    Tenant.objects.filter(pk=broken.pk).update(status="failed", error="boom")
    ProvisioningJob.objects.filter(tenant=broken).update(status=JobStatus.FAILED, error="boom", attempts=3)
    jobs_before = ProvisioningJob.objects.count()

    code = REQUESTS % {"token": platform.token, "payload": repr(new_tenant("p-down"))}
    result = run_django(code, CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/1")
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ("create", "delete", "retry"):
        status, body = answers[name]
        assert status == 503 and body["code"] == "queue_unavailable" and body["detail"], (name, body)

    assert not Tenant.objects.filter(slug="p-down").exists()
    assert not any(dbops.database_exists(server, "tt_p_down") for server in ("a", "b"))
    assert Tenant.objects.get(pk=live.pk).status == "active"
    broken.refresh_from_db()
    assert broken.status == "failed" and broken.error == "boom"
    job = ProvisioningJob.objects.get(tenant=broken)
    assert job.status == JobStatus.FAILED and job.error == "boom" and job.attempts == 3
    assert ProvisioningJob.objects.count() == jobs_before

    # With the broker back, the same requests go through.
    assert platform.post("/api/platform/tenants/", new_tenant("p-down")).status_code == 202
    assert platform.wait_status("p-down", {"active", "failed"})["status"] == "active"
    token = platform.tenant_token("p-live", "owner@p-live.test", "owner-pass-1")
    assert platform.get("/api/me/", tenant="p-live", token=token).status_code == 200
