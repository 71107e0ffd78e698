"""The whole tenant lifecycle through the platform API, a real worker and real databases."""

from __future__ import annotations

from django.db import connections
from django.test.utils import CaptureQueriesContext

from tenants import dbops, resolution
from tenants.models import ProvisioningJob
from tests.api import Api
from tests.tenants.conftest import new_tenant, wait_for


def test_provision_use_suspend_resume_delete(platform: Api) -> None:
    created = platform.post("/api/platform/tenants/", new_tenant("p-acme", plan="pro"))
    assert created.status_code == 202, created.content
    body = created.json()
    assert body["slug"] == "p-acme" and body["status"] == "provisioning" and body["plan"] == "pro"
    assert body["database"] == "tt_p_acme" and "admin_password" not in body and "error" not in body

    active = platform.wait_status("p-acme", {"active", "failed"})
    assert active["status"] == "active", active
    assert dbops.database_exists(active["server"], "tt_p_acme")

    token = platform.tenant_token("p-acme", "owner@p-acme.test", "owner-pass-1")
    me = platform.get("/api/me/", tenant="p-acme", token=token)
    assert me.status_code == 200 and me.json()["username"] == "owner@p-acme.test" and me.json()["is_admin"]

    assert platform.post("/api/platform/tenants/p-acme/suspend/").json()["status"] == "suspended"
    blocked = platform.get("/api/me/", tenant="p-acme", token=token)
    assert blocked.status_code == 403 and blocked.json()["code"] == "tenant_suspended"
    assert platform.post("/api/platform/tenants/p-acme/suspend/").status_code == 409
    assert platform.post("/api/platform/tenants/p-acme/resume/").json()["status"] == "active"
    assert platform.get("/api/me/", tenant="p-acme", token=token).status_code == 200

    deleting = platform.delete("/api/platform/tenants/p-acme/")
    assert deleting.status_code == 202 and deleting.json()["status"] == "deleting"
    assert platform.wait_status("p-acme", {"gone"})["status"] == "gone"
    assert not dbops.database_exists(active["server"], "tt_p_acme")
    gone = platform.get("/api/me/", tenant="p-acme", token=token)
    assert gone.status_code == 404 and gone.json()["code"] == "tenant_not_found"
    # The slug is free again.
    assert platform.post("/api/platform/tenants/", new_tenant("p-acme")).status_code == 202
    assert platform.wait_status("p-acme", {"active", "failed"})["status"] == "active"


def test_tokens_are_valid_only_in_their_own_tenant(platform: Api) -> None:
    for slug in ("p-one", "p-two"):
        assert platform.post("/api/platform/tenants/", new_tenant(slug)).status_code == 202
    for slug in ("p-one", "p-two"):
        platform.wait_status(slug, {"active"})
    token_one = platform.tenant_token("p-one", "owner@p-one.test", "owner-pass-1")
    assert platform.get("/api/me/", tenant="p-one", token=token_one).status_code == 200
    foreign = platform.get("/api/me/", tenant="p-two", token=token_one)
    assert foreign.status_code == 401 and foreign.json()["code"] == "authentication_failed"
    # A tenant token is no platform token either.
    assert platform.get("/api/platform/tenants/", token=token_one).status_code == 401


def test_status_rules_for_unknown_and_provisioning_tenants(platform: Api) -> None:
    unknown = platform.get("/api/me/", tenant="p-nobody")
    assert unknown.status_code == 404 and unknown.json() == {"code": "tenant_not_found", "detail": "No such tenant."}
    assert platform.get("/api/me/").json()["code"] == "tenant_not_found"  # no tenant at all


def test_steady_tenant_requests_make_zero_control_plane_queries(platform: Api) -> None:
    warm = platform.post("/api/platform/tenants/", new_tenant("p-warm"))
    assert warm.status_code == 202, warm.content
    platform.wait_status("p-warm", {"active"})
    # Steady state: the worker has finished (its last invalidation is behind us) and this process
    # holds the current cache generation, so no generation check can flush it, however slow the run.
    wait_for(lambda: ProvisioningJob.objects.filter(tenant__slug="p-warm", status="done").exists(), 60,
             "the provisioning job to finish")
    resolution.invalidate()
    token = platform.tenant_token("p-warm", "owner@p-warm.test", "owner-pass-1")
    platform.get("/api/me/", tenant="p-warm", token=token)  # warm the in-process cache
    with CaptureQueriesContext(connections["default"]) as control, \
            CaptureQueriesContext(connections["default_replica"]) as control_replica:
        for _ in range(5):
            assert platform.get("/api/me/", tenant="p-warm", token=token).status_code == 200
    assert len(control) == 0 and len(control_replica) == 0


def test_platform_api_requires_a_platform_admin(platform: Api) -> None:
    anonymous = Api(platform.client)
    assert anonymous.get("/api/platform/tenants/").status_code == 401
    signed_in = anonymous.post("/api/platform/auth/token/", {"username": "platform-admin", "password": "platform-pw"})
    assert signed_in.status_code == 200 and len(signed_in.json()["token"]) == 40
    wrong = anonymous.post("/api/platform/auth/token/", {"username": "platform-admin", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "authentication_failed"


def test_servers_list_counts_tenants_and_reports_replica_lag(platform: Api) -> None:
    assert platform.post("/api/platform/tenants/", new_tenant("p-srv", server="b")).status_code == 202
    servers = {row["name"]: row for row in platform.get("/api/platform/servers/").json()}
    assert servers["b"]["tenants"] == 1 and servers["a"]["tenants"] == 0
    assert servers["a"]["replicas"] == 1 and servers["a"]["replica_lag_seconds"][0] is not None
    assert servers["b"]["replica_lag_seconds"] == []
    platform.wait_status("p-srv", {"active"})


def test_custom_domains_resolve_the_tenant(platform: Api) -> None:
    assert platform.post("/api/platform/tenants/", new_tenant("p-dom")).status_code == 202
    platform.wait_status("p-dom", {"active"})
    added = platform.post("/api/platform/tenants/p-dom/domains/", {"domain": "app.p-dom.test"})
    assert added.status_code == 201 and added.json()["domains"] == ["app.p-dom.test"]
    assert platform.post("/api/platform/tenants/p-dom/domains/", {"domain": "app.p-dom.test"}).status_code == 409
    bad = platform.post("/api/platform/tenants/p-dom/domains/", {"domain": "not a domain"})
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"
    token = platform.tenant_token("p-dom", "owner@p-dom.test", "owner-pass-1")
    by_domain = platform.client.get("/api/me/", HTTP_HOST="app.p-dom.test", HTTP_AUTHORIZATION=f"Token {token}")
    assert by_domain.status_code == 200
    by_subdomain = platform.client.get("/api/me/", HTTP_HOST="p-dom.localhost", HTTP_AUTHORIZATION=f"Token {token}")
    assert by_subdomain.status_code == 200
    assert platform.delete("/api/platform/tenants/p-dom/domains/app.p-dom.test/").status_code == 204
    after = platform.client.get("/api/me/", HTTP_HOST="app.p-dom.test", HTTP_AUTHORIZATION=f"Token {token}")
    assert after.status_code == 404
