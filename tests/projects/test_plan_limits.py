"""The product enforces its tenant's plan: quotas, API rate and statement timeout answer clear JSON."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client, override_settings

from tenants import services
from tests.projects.conftest import TenantWorld, as_user
from tests.tenants.conftest import Api, provision


def plans(**free: Any) -> dict[str, dict[str, Any]]:
    """Return TENANT_PLANS with the free plan's limits changed as given."""
    return {**settings.TENANT_PLANS, "free": {**settings.TENANT_PLANS["free"], **free}}


def assert_plan_limit(response: Any, limit: str) -> None:
    assert response.status_code == 403, response.content
    body = response.json()
    assert body["code"] == "plan_limit" and body["limit"] == limit and limit in body["detail"]


def test_projects_beyond_the_plan_are_refused_with_the_limit_named(product: dict[str, TenantWorld]) -> None:
    admin = as_user(product["alpha"], "admin")
    with override_settings(TENANT_PLANS=plans(max_projects=3)):
        assert admin.post("/api/projects/", {"name": "Third", "key": "THIRD"}).status_code == 201
        assert_plan_limit(admin.post("/api/projects/", {"name": "Fourth", "key": "FOURTH"}), "max_projects")
        # beta, on the same plan, counts its own projects
        assert as_user(product["beta"], "admin").post("/api/projects/", {"name": "B", "key": "BETA"}).status_code == 201
    assert admin.post("/api/projects/", {"name": "Fourth", "key": "FOURTH"}).status_code == 201  # default plan


def test_users_beyond_the_plan_are_refused_and_reactivation_counts(product: dict[str, TenantWorld]) -> None:
    world = product["alpha"]
    admin = as_user(world, "admin")
    with override_settings(TENANT_PLANS=plans(max_users=4)):  # alpha has four users
        refused = admin.post("/api/users/", {"username": "fifth", "password": "long-enough-1"})
        assert_plan_limit(refused, "max_users")
        outsider = world.users["outsider"].pk
        assert admin.patch(f"/api/users/{outsider}/", {"is_active": False}).status_code == 200
        assert admin.post("/api/users/", {"username": "fifth", "password": "long-enough-1"}).status_code == 201
        assert_plan_limit(admin.patch(f"/api/users/{outsider}/", {"is_active": True}), "max_users")


def test_an_export_larger_than_the_plan_allows_is_refused(product: dict[str, TenantWorld]) -> None:
    world = product["alpha"]
    member = as_user(world, "member")
    member.post("/api/tasks/", {"project": world.project.pk, "title": "second"})
    with override_settings(TENANT_PLANS=plans(max_export_rows=1)):
        assert_plan_limit(member.post("/api/exports/", {"project": world.project.pk}), "max_export_rows")
        assert member.get("/api/exports/").json()["results"] == []  # nothing recorded


def test_the_api_rate_follows_the_plan_and_a_plan_change_applies_at_the_next_request(
        product: dict[str, TenantWorld]) -> None:
    alpha = as_user(product["alpha"], "member")
    with override_settings(TENANT_PLANS=plans(api_rate="3/min")):
        assert [alpha.get("/api/me/").status_code for _ in range(4)] == [200, 200, 200, 429]
        limited = alpha.get("/api/me/")
        assert limited.json()["code"] == "throttled" and int(limited["Retry-After"]) > 0
        assert as_user(product["beta"], "member").get("/api/me/").status_code == 200  # its own bucket
        services.tenant_update(slug="alpha", name="Alpha", plan="pro")
        assert alpha.get("/api/me/").status_code == 200  # pro's rate, at once


def test_the_platform_ceiling_still_caps_a_generous_plan(product: dict[str, TenantWorld]) -> None:
    alpha = as_user(product["alpha"], "member")
    with override_settings(TENANT_THROTTLE_RATES={**settings.TENANT_THROTTLE_RATES, "tenant": "2/min"}):
        assert [alpha.get("/api/me/").status_code for _ in range(3)] == [200, 200, 429]


@override_settings(TENANT_URLCONF="tests.projects.sleep_urls")
def test_a_statement_past_the_plans_timeout_answers_504_statement_timeout(control_db: None) -> None:
    services.servers_sync()
    with override_settings(TENANT_PLANS=plans(statement_timeout_ms=200)):
        provision("p-lim-slow")  # the plan's timeout is set on its database
    client = Api(Client())
    quick = client.get("/api/test/sleep/?seconds=0", tenant="p-lim-slow")
    assert quick.status_code == 200
    response = client.get("/api/test/sleep/?seconds=30", tenant="p-lim-slow")
    assert response.status_code == 504, response.content
    assert response.json() == {"code": "statement_timeout", "limit": "statement_timeout_ms",
                               "detail": response.json()["detail"]}
    assert client.get("/api/test/sleep/?seconds=0", tenant="p-lim-slow").status_code == 200  # the connection recovers
