"""The platform's usage API: per-day rows of one tenant, the fleet summed and sorted, validated ranges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tenants.models import TenantUsageDay
from tests.factories import TenantFactory
from tests.tenants.conftest import Api


@pytest.fixture
def usage_rows(servers: None) -> None:
    today = timezone.now().date()
    small, big = TenantFactory(slug="p-small"), TenantFactory(slug="p-big")
    for back in range(3):
        TenantUsageDay.objects.create(tenant=small, day=today - timedelta(days=back), requests=10, write_requests=1,
                                      exports=0, active_users=2, database_bytes=100)
    TenantUsageDay.objects.create(tenant=big, day=today, requests=5, write_requests=5, exports=3, active_users=9,
                                  database_bytes=900)
    TenantUsageDay.objects.create(tenant=big, day=today - timedelta(days=40), requests=1000)


@pytest.fixture
def admin_api(servers: None) -> Api:
    user = User.objects.create_user("usage-admin", password="usage-pw-1", is_staff=True, is_superuser=True)
    return Api(Client(), Token.objects.create(user=user).key)


@pytest.mark.usefixtures("usage_rows")
def test_a_tenants_usage_is_listed_per_day_in_the_range(admin_api: Api) -> None:
    today = timezone.now().date()
    body = admin_api.get(f"/api/platform/tenants/p-small/usage/?from={today - timedelta(days=1)}&to={today}").json()
    assert [row["day"] for row in body["days"]] == [str(today - timedelta(days=1)), str(today)]
    assert body["days"][0] == {"day": str(today - timedelta(days=1)), "requests": 10, "write_requests": 1,
                               "exports": 0, "active_users": 2, "database_bytes": 100}
    assert len(admin_api.get("/api/platform/tenants/p-small/usage/").json()["days"]) == 3  # last 30 days
    assert admin_api.get("/api/platform/tenants/p-none/usage/").status_code == 404


@pytest.mark.parametrize("query", ["from=2026-13-01", "to=yesterday", "from=2026-01-02&to=2026-01-01",
                                   "from=2020-01-01&to=2026-01-01", "from=20260101", "ordering=slug",
                                   "ordering=--requests"])
@pytest.mark.usefixtures("usage_rows")
def test_bad_ranges_and_orderings_are_400(admin_api: Api, query: str) -> None:
    response = admin_api.get(f"/api/platform/usage/?{query}")
    assert response.status_code == 400 and response.json()["code"] == "validation_error", response.content


@pytest.mark.usefixtures("usage_rows")
def test_the_fleet_usage_is_summed_and_sorted_by_each_measure(admin_api: Api,
                                                              django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(2):  # the token with its user, the page
        body = admin_api.get("/api/platform/usage/").json()
    assert [(row["tenant"], row["requests"]) for row in body["results"]] == [("p-small", 30), ("p-big", 5)]
    for measure, first in (("-write_requests", "p-big"), ("write_requests", "p-small"), ("-exports", "p-big"),
                           ("exports", "p-small"), ("-active_users", "p-big"), ("database_bytes", "p-small")):
        rows = admin_api.get(f"/api/platform/usage/?ordering={measure}").json()["results"]
        assert rows[0]["tenant"] == first, measure
    page = admin_api.get("/api/platform/usage/?page_size=1&ordering=-requests").json()
    assert page["results"][0]["tenant"] == "p-small"
    assert admin_api.get(page["next"]).json()["results"][0]["tenant"] == "p-big"


def test_usage_takes_its_view_permission(servers: None) -> None:
    staff = User.objects.create_user("ops", password="ops-pw-1", is_staff=True)
    api = Api(Client(), Token.objects.create(user=staff).key)
    assert api.get("/api/platform/usage/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_tenantusageday"))
    assert api.get("/api/platform/usage/").status_code == 200
