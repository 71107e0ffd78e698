"""Projects, members, users and auth endpoints: happy paths, validation, permissions."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from django.contrib.auth import get_user_model
from django.db import connections

from routers import tenant_context
from tests.api import Api
from tests.projects.conftest import TenantWorld, as_user


def test_sign_in_and_me(product: dict[str, TenantWorld]) -> None:
    anon = as_user(product["alpha"], "nobody")
    token = anon.post("/api/auth/token/", {"username": "member-alpha", "password": "password-123"})
    assert token.status_code == 200
    me = as_user(product["alpha"], "member").get("/api/me/").json()
    assert me["username"] == "member-alpha" and me["is_admin"] is False
    wrong = anon.post("/api/auth/token/", {"username": "member-alpha", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "authentication_failed"
    missing = anon.post("/api/auth/token/", {"username": "member-alpha"})
    assert missing.status_code == 400 and "password" in missing.json()["fields"]
    assert anon.get("/api/me/").status_code == 401


def test_projects_list_shows_only_member_projects_with_the_users_role(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    member = as_user(alpha, "member").get("/api/projects/").json()
    assert [(p["key"], p["my_role"]) for p in member["results"]] == [("MAIN", "member")]
    admin_keys = {p["key"] for p in as_user(alpha, "admin").get("/api/projects/").json()["results"]}
    assert admin_keys == {"MAIN", "SECRET"}
    assert as_user(alpha, "outsider").get("/api/projects/").json()["results"] == []


def test_create_update_delete_a_project(product: dict[str, TenantWorld]) -> None:
    member = as_user(product["alpha"], "member")
    created = member.post("/api/projects/", {"name": "Docs", "key": "DOCS", "description": "x"})
    assert created.status_code == 201 and created.json()["my_role"] == "admin"
    pid = created.json()["id"]
    assert member.post("/api/projects/", {"name": "Again", "key": "DOCS"}).json()["code"] == "project_exists"
    bad = member.post("/api/projects/", {"name": "Bad", "key": "lower"})
    assert bad.status_code == 400 and "key" in bad.json()["fields"]
    renamed = member.patch(f"/api/projects/{pid}/", {"name": "Documentation"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Documentation"
    assert member.delete(f"/api/projects/{pid}/").status_code == 204
    assert member.get(f"/api/projects/{pid}/").status_code == 404


def test_only_project_admins_change_a_project(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    pid = alpha.project.pk
    for who in ("member", "viewer"):
        response = as_user(alpha, who).patch(f"/api/projects/{pid}/", {"name": "hijacked"})
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert as_user(alpha, "admin").patch(f"/api/projects/{pid}/", {"archived": True}).json()["archived"] is True


def test_a_project_you_are_not_in_is_404(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    response = as_user(alpha, "member").get(f"/api/projects/{alpha.hidden.pk}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_project_admins_manage_members(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    admin, outsider = as_user(alpha, "admin"), alpha.users["outsider"]
    pid = alpha.project.pk
    rows = admin.post(f"/api/projects/{pid}/members/", {"user": outsider.pk, "role": "viewer"}).json()
    assert {"user": outsider.pk, "role": "viewer"} in rows
    assert as_user(alpha, "outsider").get(f"/api/projects/{pid}/").json()["my_role"] == "viewer"
    denied = as_user(alpha, "member").post(f"/api/projects/{pid}/members/", {"user": outsider.pk, "role": "admin"})
    assert denied.status_code == 403
    admin.post(f"/api/projects/{pid}/members/", {"user": outsider.pk, "role": None})
    assert as_user(alpha, "outsider").get(f"/api/projects/{pid}/").status_code == 404
    unknown = admin.post(f"/api/projects/{pid}/members/", {"user": 99999, "role": "member"})
    assert unknown.status_code == 400


def test_tenant_admins_manage_users(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    listed = as_user(alpha, "member").get("/api/users/").json()["results"]
    assert {u["username"] for u in listed} >= {"admin-alpha", "member-alpha"}
    assert all("password" not in u for u in listed)
    new_user = {"username": "dave", "password": "dave-pass-1", "email": "dave@alpha.test"}
    assert as_user(alpha, "member").post("/api/users/", new_user).status_code == 403
    created = as_user(alpha, "admin").post("/api/users/", new_user)
    assert created.status_code == 201 and created.json()["username"] == "dave"
    assert as_user(alpha, "admin").post("/api/users/", new_user).status_code == 409
    short = as_user(alpha, "admin").post("/api/users/", {"username": "eve", "password": "x"})
    assert short.status_code == 400 and "password" in short.json()["fields"]
    spaced = as_user(alpha, "admin").post("/api/users/", {"username": "eve adams", "password": "eve-pass-12"})
    assert spaced.status_code == 400 and "username" in spaced.json()["fields"]
    token = as_user(alpha, "nobody").post("/api/auth/token/", {"username": "dave", "password": "dave-pass-1"})
    assert token.status_code == 200


def test_a_username_race_ends_in_one_user_and_409s_never_a_500(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    barrier = threading.Barrier(4)

    def create(_: int) -> int:
        client = as_user(alpha, "admin")
        barrier.wait()
        try:
            return client.post("/api/users/", {"username": "twin", "password": "twin-pass-1"}).status_code
        finally:
            connections.close_all()  # this thread's own connections

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(create, range(4)))
    assert statuses == [201, 409, 409, 409]
    with tenant_context(alpha.spec):
        assert get_user_model().objects.filter(username="twin").count() == 1


def test_tenant_admins_deactivate_promote_and_reactivate_users(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    admin, member_id = as_user(alpha, "admin"), alpha.users["member"].pk
    assert as_user(alpha, "viewer").patch(f"/api/users/{member_id}/", {"is_active": False}).status_code == 403
    off = admin.patch(f"/api/users/{member_id}/", {"is_active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert as_user(alpha, "member").get("/api/me/").status_code == 401  # the token is revoked
    sign_in = {"username": "member-alpha", "password": "password-123"}
    assert as_user(alpha, "nobody").post("/api/auth/token/", sign_in).status_code == 401
    assert member_id not in {u["id"] for u in as_user(alpha, "viewer").get("/api/users/").json()["results"]}
    assert member_id in {u["id"] for u in admin.get("/api/users/").json()["results"]}
    on = admin.patch(f"/api/users/{member_id}/", {"is_active": True, "is_admin": True, "first_name": "M"})
    assert on.status_code == 200 and on.json()["is_admin"] is True and on.json()["first_name"] == "M"
    token = as_user(alpha, "nobody").post("/api/auth/token/", sign_in).json()["token"]
    promoted = Api(token=token, tenant="alpha").get("/api/projects/").json()["results"]
    assert {p["key"] for p in promoted} == {"MAIN", "SECRET"}  # tenant admins see every project


def test_admins_cannot_lock_themselves_out_and_bad_input_is_400(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    admin, me = as_user(alpha, "admin"), alpha.users["admin"].pk
    for change in ({"is_active": False}, {"is_admin": False}):
        response = admin.patch(f"/api/users/{me}/", change)
        assert response.status_code == 400 and set(response.json()["fields"]) == set(change)
    assert admin.patch(f"/api/users/{me}/", {"email": "not-an-email"}).json()["fields"] == {
        "email": ["Enter a valid email address."]}
    assert admin.patch(f"/api/users/{me}/", {"is_active": "maybe"}).status_code == 400
    assert admin.patch("/api/users/999999/", {"first_name": "x"}).status_code == 404
    assert admin.client.put(f"/api/users/{me}/", {}, content_type="application/json",
                            **admin.headers()).status_code == 405
