"""Platform lists: the tenant API's page envelope, filters, search, deleted tenants, PATCH, query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from migrations_tooling.models import MigrationRecord, MigrationRun
from tenants import services
from tenants.models import Tenant
from tests.api import Api


@pytest.fixture
def admin_api(control_db: None) -> Api:
    services.servers_sync()
    admin = User.objects.create_user("platform-admin", password="platform-pw", is_staff=True, is_superuser=True)
    return Api(Client(), Token.objects.create(user=admin).key)


def make(slug: str, **fields: Any) -> Tenant:
    values = {"name": slug.title(), "server_id": "a", "database": f"t_{slug}", "admin_email": f"o@{slug}.test",
              "status": "active", **fields}
    return Tenant.objects.create(slug=slug, **values)


@pytest.fixture
def tenants(admin_api: Api) -> list[Tenant]:
    return [make("p-alpha", plan="pro"), make("p-beta", server_id="b"), make("p-gamma", status="suspended"),
            make("p-old", status="deleted", admin_email="support@old.test")]


def slugs(body: dict[str, Any]) -> list[str]:
    return [row["slug"] for row in body["results"]]


def test_the_tenant_list_is_a_page_without_deleted_tenants(admin_api: Api, tenants: list[Tenant]) -> None:
    body = admin_api.get("/api/platform/tenants/?page_size=2").json()
    assert set(body) == {"next", "previous", "results"} and slugs(body) == ["p-alpha", "p-beta"]
    rest = admin_api.get(body["next"]).json()
    assert slugs(rest) == ["p-gamma"] and rest["next"] is None


@pytest.mark.parametrize(("query", "expected"), [
    ("status=deleted", ["p-old"]), ("status=suspended", ["p-gamma"]), ("plan=pro", ["p-alpha"]),
    ("server=b", ["p-beta"]), ("search=BET", ["p-beta"]), ("search=support@old", []),
    ("status=deleted&search=support@old", ["p-old"]), ("created_before=2000-01-01T00:00:00Z", []),
    ("created_after=2000-01-01T00:00:00Z", ["p-alpha", "p-beta", "p-gamma"]),
])
def test_tenant_filters_and_search(admin_api: Api, tenants: list[Tenant], query: str, expected: list[str]) -> None:
    response = admin_api.get(f"/api/platform/tenants/?{query}")
    assert response.status_code == 200 and slugs(response.json()) == expected


def test_a_bad_filter_is_a_json_validation_error(admin_api: Api, tenants: list[Tenant]) -> None:
    response = admin_api.get("/api/platform/tenants/?status=nonsense")
    assert response.status_code == 400 and "status" in response.json()["fields"]


def test_a_deleted_tenant_is_listed_on_request_but_still_404_elsewhere(admin_api: Api, tenants: list[Tenant]) -> None:
    assert admin_api.get("/api/platform/tenants/p-old/").status_code == 404
    patch = admin_api.client.patch("/api/platform/tenants/p-old/", {"name": "X"}, content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Token {admin_api.token}")
    assert patch.status_code == 404 and patch.json()["code"] == "not_found"


def test_patch_changes_name_and_plan_only(admin_api: Api, tenants: list[Tenant]) -> None:
    headers = {"HTTP_AUTHORIZATION": f"Token {admin_api.token}", "content_type": "application/json"}
    response = admin_api.client.patch("/api/platform/tenants/p-beta/", {"plan": "enterprise"}, **headers)
    assert response.status_code == 200 and response.json()["plan"] == "enterprise"
    assert response.json()["name"] == "P-Beta"
    response = admin_api.client.patch("/api/platform/tenants/p-beta/", {"name": "Beta", "status": "deleted"},
                                      **headers)
    assert response.status_code == 200 and response.json()["name"] == "Beta"
    assert Tenant.objects.get(slug="p-beta").status == "active"
    bad = admin_api.client.patch("/api/platform/tenants/p-beta/", {"plan": "gold"}, **headers)
    assert bad.status_code == 400 and "plan" in bad.json()["fields"]


def _queries(api: Api, path: str) -> int:
    with CaptureQueriesContext(connections["default"]) as control, \
            CaptureQueriesContext(connections["default_replica"]) as replica:
        assert api.get(path).status_code == 200
    return len(control) + len(replica)


def test_list_query_counts_do_not_grow_with_the_rows(admin_api: Api, tenants: list[Tenant]) -> None:
    few = _queries(admin_api, "/api/platform/tenants/")
    for i in range(10):
        make(f"p-more-{i}")
    assert _queries(admin_api, "/api/platform/tenants/") == few <= 4


def test_runs_are_a_filtered_page_with_counts_in_constant_queries(admin_api: Api) -> None:
    for status in ("done", "failed", "done"):
        run = MigrationRun.objects.create(status=status, requested_by="p-list-test")
        MigrationRecord.objects.create(run=run, database_label="control", server="a", database="c", status="done")
    body = admin_api.get("/api/platform/migration-runs/?status=done&requested_by=p-list-test").json()
    assert set(body) == {"next", "previous", "results"} and len(body["results"]) == 2
    assert body["results"][0]["counts"] == {"done": 1}
    assert len(admin_api.get("/api/platform/migration-runs/?search=p-list&page_size=1").json()["results"]) == 1
    few = _queries(admin_api, "/api/platform/migration-runs/")
    MigrationRun.objects.create(status="done")
    assert _queries(admin_api, "/api/platform/migration-runs/") == few <= 4
