"""Platform API authorization by Django permissions per action; tokens that expire and die with the password."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from routers import tenant_context
from tenants import selectors
from tenants.models import Domain, Tenant
from tests.api import Api
from tests.tenants.conftest import provision

FORBIDDEN = [
    ("get", "/api/platform/tenants/"), ("get", "/api/platform/tenants/p-perm/"),
    ("post", "/api/platform/tenants/p-perm/suspend/"), ("post", "/api/platform/tenants/p-perm/resume/"),
    ("post", "/api/platform/tenants/p-perm/retry/"), ("delete", "/api/platform/tenants/p-perm/"),
    ("post", "/api/platform/tenants/p-perm/domains/"), ("delete", "/api/platform/tenants/p-perm/domains/x.test/"),
    ("get", "/api/platform/servers/"), ("get", "/api/platform/migration-runs/"),
    ("post", "/api/platform/migration-runs/"), ("post", "/api/platform/tenants/"),
]


def _staff(username: str, *permissions: str) -> Api:
    user = User.objects.create_user(username, password="staff-pass-1", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return Api(Client(), Token.objects.create(user=user).key)


def _call(api: Api, method: str, path: str) -> object:
    body = {"domain": "app.p-perm.test"} if path.endswith("/domains/") else None
    return api.delete(path) if method == "delete" else (api.post(path, body) if method == "post" else api.get(path))


def test_a_staff_user_without_permissions_gets_a_403_for_every_platform_action(platform: Api) -> None:
    provision("p-perm")
    Tenant.objects.filter(slug="p-perm").update(status="suspended")
    bare = _staff("bare-staff")
    for method, path in FORBIDDEN:
        response = _call(bare, method, path)
        assert response.status_code == 403, (method, path, response.content)  # type: ignore[attr-defined]
        assert response.json()["code"] == "permission_denied", (method, path)  # type: ignore[attr-defined]
    assert Tenant.objects.get(slug="p-perm").status == "suspended" and not Domain.objects.exists()


def test_each_action_needs_its_own_permission(platform: Api) -> None:
    provision("p-perm")
    operator = _staff("operator", "suspend_tenant", "view_tenant")
    assert operator.get("/api/platform/tenants/p-perm/").status_code == 200
    assert operator.post("/api/platform/tenants/p-perm/suspend/").json()["status"] == "suspended"
    assert operator.post("/api/platform/tenants/p-perm/resume/").status_code == 403
    assert operator.post("/api/platform/tenants/p-perm/domains/", {"domain": "a.p-perm.test"}).status_code == 403
    assert operator.delete("/api/platform/tenants/p-perm/").status_code == 403
    assert Tenant.objects.get(slug="p-perm").status == "suspended"


def test_a_platform_token_dies_with_a_password_change(platform: Api) -> None:
    admin = User.objects.get(username="platform-admin")
    assert platform.get("/api/platform/tenants/").status_code == 200
    admin.set_password("a-new-password-2")
    admin.save()
    revoked = platform.get("/api/platform/tenants/")
    assert revoked.status_code == 401 and revoked.json()["code"] == "authentication_failed"
    signed_in = Api(Client()).post("/api/platform/auth/token/",
                                   {"username": "platform-admin", "password": "a-new-password-2"})
    assert signed_in.status_code == 200 and signed_in.json()["token"] != platform.token
    assert platform.get("/api/platform/tenants/", token=signed_in.json()["token"]).status_code == 200


def test_a_tenant_token_dies_with_a_password_change(platform: Api) -> None:
    tenant = provision("p-pw")
    token = platform.tenant_token("p-pw", "owner@p-pw.test", "owner-pass-1")
    assert platform.get("/api/me/", tenant="p-pw", token=token).status_code == 200
    with tenant_context(selectors.tenant_spec(tenant)):
        owner = User.objects.get(username="owner@p-pw.test")
        owner.set_password("owner-pass-2")
        owner.save()
    revoked = platform.get("/api/me/", tenant="p-pw", token=token)
    assert revoked.status_code == 401 and revoked.json()["code"] == "authentication_failed"
    fresh = platform.tenant_token("p-pw", "owner@p-pw.test", "owner-pass-2")
    assert fresh != token and platform.get("/api/me/", tenant="p-pw", token=fresh).status_code == 200


@pytest.mark.parametrize("plane", ["platform", "tenant"])
@override_settings(TOKEN_TTL_SECONDS=3600)
def test_an_expired_token_is_a_401_and_signing_in_issues_a_fresh_one(platform: Api, plane: str) -> None:
    tenant = provision("p-ttl")
    spec = selectors.tenant_spec(tenant)
    if plane == "platform":
        old, path, slug = platform.token, "/api/platform/tenants/", None
        Token.objects.filter(key=old).update(created=timezone.now() - timedelta(hours=2))
    else:
        old, path, slug = platform.tenant_token("p-ttl", "owner@p-ttl.test", "owner-pass-1"), "/api/me/", "p-ttl"
        with tenant_context(spec):
            Token.objects.filter(key=old).update(created=timezone.now() - timedelta(hours=2))
    expired = platform.get(path, tenant=slug, token=old)
    assert expired.status_code == 401 and expired.json()["code"] == "token_expired", expired.content
    if plane == "platform":
        again = Api(Client()).post("/api/platform/auth/token/", {"username": "platform-admin",
                                                                  "password": "platform-pw"}).json()["token"]
    else:
        again = platform.tenant_token("p-ttl", "owner@p-ttl.test", "owner-pass-1")
    assert again != old and platform.get(path, tenant=slug, token=again).status_code == 200
