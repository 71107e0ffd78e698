"""The platform audit log: every action recorded with its transaction, refusals apart, no secrets, append-only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import DatabaseError, connections, transaction
from django.test import Client
from rest_framework.authtoken.models import Token

from migrations_tooling import runner
from migrations_tooling import services as run_services
from tenants import audit, operations, services
from tenants.models import AuditEvent, Tenant
from tests.factories import TenantFactory
from tests.tenants.conftest import Api, new_tenant


@pytest.fixture
def admin(servers: None) -> Api:
    """A platform superuser's API client, without a worker: these actions only need the control plane."""
    user = User.objects.create_user("audit-admin", password="audit-pw-1", is_staff=True, is_superuser=True)
    return Api(Client(REMOTE_ADDR="203.0.113.7"), Token.objects.create(user=user).key)


@pytest.fixture
def active(servers: None) -> Tenant:
    return TenantFactory(slug="p-aud")  # type: ignore[no-any-return]


def events(**filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def test_a_suspend_is_recorded_with_actor_target_request_id_and_client_ip(admin: Api, active: Tenant) -> None:
    response = admin.client.post("/api/platform/tenants/p-aud/suspend/", HTTP_AUTHORIZATION=f"Token {admin.token}",
                                 HTTP_X_REQUEST_ID="req-audit-1")
    assert response.status_code == 200, response.content
    [event] = events(action="tenant.suspend")
    assert (event.actor, event.tenant_slug, event.tenant_pk, event.outcome) == (
        "token:audit-admin", "p-aud", active.pk, "ok")
    assert (event.request_id, event.client_ip) == ("req-audit-1", "203.0.113.7")


def test_each_platform_action_records_one_event(admin: Api, active: Tenant) -> None:
    assert admin.post("/api/platform/tenants/p-aud/suspend/").status_code == 200
    assert admin.post("/api/platform/tenants/p-aud/resume/").status_code == 200
    assert admin.client.patch("/api/platform/tenants/p-aud/", {"name": "Renamed"}, content_type="application/json",
                              HTTP_AUTHORIZATION=f"Token {admin.token}").status_code == 200
    assert admin.post("/api/platform/tenants/p-aud/domains/", {"domain": "audit.example.com"}).status_code == 201
    assert admin.delete("/api/platform/tenants/p-aud/domains/audit.example.com/").status_code == 204
    assert admin.client.put("/api/platform/tenants/p-aud/cors-origins/", {"origins": ["https://app.example.com"]},
                            content_type="application/json",
                            HTTP_AUTHORIZATION=f"Token {admin.token}").status_code == 200
    actions = [event.action for event in events(tenant_slug="p-aud")]
    assert actions == ["tenant.suspend", "tenant.resume", "tenant.update", "domain.add", "domain.remove",
                       "tenant.cors_set"]
    assert {event.outcome for event in events()} == {"ok"}
    assert events(action="domain.add")[0].params == {"domain": "audit.example.com"}


def test_a_create_records_its_parameters_but_never_the_password(admin: Api) -> None:
    response = admin.post("/api/platform/tenants/", new_tenant("p-new", admin_password="Sekret-Pass-42"))
    assert response.status_code == 202, response.content
    [event] = events(action="tenant.create")
    assert event.params["admin_email"] == "owner@p-new.test" and event.outcome == "ok"
    stored = json.dumps([row.params for row in AuditEvent.objects.all()])
    assert "Sekret-Pass-42" not in stored and "password" not in stored


def test_refusals_are_recorded_with_their_code_and_leave_no_ok_record(admin: Api, active: Tenant) -> None:
    assert admin.post("/api/platform/tenants/p-aud/resume/").status_code == 409  # active: nothing to resume
    assert admin.post("/api/platform/tenants/p-aud/domains/", {"domain": "one.example.com"}).status_code == 201
    assert admin.post("/api/platform/tenants/p-aud/domains/", {"domain": "one.example.com"}).status_code == 409
    assert admin.post("/api/platform/tenants/p-none/suspend/").status_code == 404
    refused = [(e.action, e.code, e.tenant_slug, e.tenant_pk) for e in events(outcome="refused")]
    assert refused == [("tenant.resume", "invalid_state", "p-aud", active.pk),
                       ("domain.add", "domain_exists", "p-aud", active.pk),
                       ("tenant.suspend", "not_found", "p-none", None)]
    assert len(events(action="domain.add", outcome="ok")) == 1


def test_an_action_rolled_back_takes_its_record_with_it(active: Tenant) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        services.tenant_suspend(slug="p-aud", actor="user:someone")
        raise RuntimeError("the caller's transaction fails after the action")
    assert events() == [] and Tenant.objects.get(pk=active.pk).status == "active"


def test_the_database_refuses_to_change_or_delete_a_record(active: Tenant) -> None:
    services.tenant_suspend(slug="p-aud", actor="user:someone")
    for statement in ("UPDATE tenants_auditevent SET actor = 'forged'", "DELETE FROM tenants_auditevent"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
                connections["default"].cursor() as cursor:
            cursor.execute(statement)
    assert [event.actor for event in events()] == ["user:someone"]


def test_the_cli_records_its_os_user(servers: None) -> None:
    call_command("create_tenant", "p-cli", "--admin-email", "o@p-cli.test", "--admin-password", "pw-cli-12345",
                 "--queue", stdout=open("/dev/null", "w"))  # noqa: SIM115 - queued: no database is built
    [event] = events(action="tenant.create")
    assert event.actor == operations.actor_of_cli() and event.actor.startswith("cli:")


def test_migration_runs_record_their_start(servers: None) -> None:
    TenantFactory(slug="p-x")
    run = run_services.migration_run_start(options=runner.RunOptions(tenants=["p-x"]), requested_by="cli",
                                           actor="cli:ops")
    [event] = events(action="migration_run.start")
    assert (event.actor, event.params["run"], event.params["tenants"]) == ("cli:ops", run.pk, ["p-x"])


@pytest.mark.unit
def test_scrub_drops_secrets_at_any_depth() -> None:
    params = {"admin_password": "x", "name": "n", "nested": {"api_token": "t", "keep": [1, {"secret": "s"}]}}
    assert audit.scrub(params) == {"name": "n", "nested": {"keep": [1, {}]}}


# --- API ----------------------------------------------------------------------------------

def test_the_api_filters_pages_and_counts_its_queries(admin: Api, active: Tenant,
                                                      django_assert_num_queries: Any) -> None:
    TenantFactory(slug="p-other")
    for _ in range(3):
        services.tenant_suspend(slug="p-aud", actor="user:ops")
        services.tenant_resume(slug="p-aud", actor="user:ops")
    services.tenant_suspend(slug="p-other", actor="user:else")
    with django_assert_num_queries(2):  # the token with its user, the page (a superuser needs no permission rows)
        body = admin.get("/api/platform/audit/?tenant=p-aud&action=tenant.suspend&page_size=2").json()
    assert [row["action"] for row in body["results"]] == ["tenant.suspend"] * 2 and body["next"]
    rest = admin.get(body["next"]).json()
    assert len(rest["results"]) == 1 and rest["next"] is None
    assert {row["actor"] for row in admin.get("/api/platform/audit/?actor=user:else").json()["results"]} == {
        "user:else"}
    assert admin.get("/api/platform/audit/?since=2999-01-01T00:00:00Z").json()["results"] == []
    bad = admin.get("/api/platform/audit/?since=yesterday")
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"


def test_reading_the_log_takes_its_view_permission(servers: None) -> None:
    staff = User.objects.create_user("ops", password="ops-pw-1", is_staff=True)
    token = Token.objects.create(user=staff).key
    api = Api(Client(), token)
    assert api.get("/api/platform/audit/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    assert api.get("/api/platform/audit/").status_code == 200


def test_the_django_admin_shows_the_log_read_only(active: Tenant) -> None:
    services.tenant_suspend(slug="p-aud", actor="user:someone")
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.test", "root-pass-1"))
    event = events()[0]
    assert client.get("/admin/tenants/auditevent/").status_code == 200
    page = client.get(f"/admin/tenants/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content  # viewable, not editable
    assert client.post(f"/admin/tenants/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/tenants/auditevent/add/").status_code == 403
    assert events() == [event]
