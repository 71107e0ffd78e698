"""Tenant security events: recorded in the tenant's own database, readable by its admins, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import DatabaseError, connections, transaction
from django.test import override_settings

from core.metering import dropped
from projects.models import SecurityEvent
from routers import tenant_context
from tests.projects.conftest import TenantWorld, as_user
from tests.projects.test_signin import sign_in


def kinds(world: TenantWorld) -> list[tuple[str, str]]:
    with tenant_context(world.spec):
        return [(e.kind, e.username) for e in SecurityEvent.objects.order_by("id")]


def test_sign_ins_and_failures_are_recorded_in_the_tenants_own_database(product: dict[str, TenantWorld]) -> None:
    alpha, beta = product["alpha"], product["beta"]
    assert sign_in(alpha, "member-alpha", "password-123").status_code == 200
    assert sign_in(alpha, "member-alpha", "wrong-password").status_code == 401
    assert kinds(alpha) == [("signin", "member-alpha"), ("signin_failed", "member-alpha")]
    assert kinds(beta) == []


def test_a_failed_sign_in_of_an_unknown_user_stores_only_a_digest(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    unknown = sign_in(alpha, "Typed-Secret-Name", "wrong-password")
    known = sign_in(alpha, "member-alpha", "wrong-password")
    assert unknown.status_code == known.status_code == 401 and unknown.json() == known.json()
    assert sign_in(alpha, "typed-secret-name", "other-password").status_code == 401
    with tenant_context(alpha.spec):
        first, _, again = SecurityEvent.objects.order_by("id")
    assert (first.user_id, first.username) == (None, "") and len(first.subject) == 32
    assert first.subject == again.subject  # repeated attempts on one name are visible as such
    with tenant_context(alpha.spec):
        stored = str(list(SecurityEvent.objects.values()))
    assert "secret-name" not in stored.lower()  # what was typed is nowhere


def test_user_and_role_changes_are_recorded_with_the_admin_who_made_them(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    admin = as_user(alpha, "admin")
    created = admin.post("/api/users/", {"username": "newbie", "password": "newbie-pass-1", "email": "n@x.test"})
    assert created.status_code == 201, created.content
    assert admin.patch(f"/api/users/{created.json()['id']}/", {"is_admin": True}).status_code == 200
    assert admin.patch(f"/api/users/{created.json()['id']}/", {"is_active": False}).status_code == 200
    member = alpha.users["outsider"].pk
    assert admin.post(f"/api/projects/{alpha.project.pk}/members/", {"user": member, "role": "viewer"}).status_code \
        == 200
    with tenant_context(alpha.spec):
        rows = list(SecurityEvent.objects.order_by("id"))
    assert [(row.kind, row.detail) for row in rows] == [
        ("user_created", {"is_admin": False}), ("role_changed", {"is_admin": True}),
        ("user_deactivated", {}), ("role_changed", {"project": alpha.project.pk, "role": "viewer"})]
    assert {row.actor_id for row in rows} == {alpha.users["admin"].pk}


@contextmanager
def events_table_gone(world: TenantWorld) -> Iterator[None]:
    """Rename the events table for the block: every insert into it fails in the real database."""
    with tenant_context(world.spec), connections[world.spec.alias].cursor() as cursor:
        cursor.execute("ALTER TABLE projects_securityevent RENAME TO projects_securityevent_away")
        try:
            yield
        finally:
            cursor.execute("ALTER TABLE projects_securityevent_away RENAME TO projects_securityevent")


def test_a_failing_event_write_never_fails_the_sign_in(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    before = dropped.snapshot().get("security_event", 0)
    with events_table_gone(alpha):
        assert sign_in(alpha, "member-alpha", "password-123").status_code == 200
        assert sign_in(alpha, "member-alpha", "wrong-password").status_code == 401
        created = as_user(alpha, "admin").post("/api/users/", {"username": "still", "password": "still-pass-1"})
        assert created.status_code == 201  # the user's own transaction survives its event's failure
    assert dropped.snapshot()["security_event"] == before + 3
    assert kinds(alpha) == []


def test_the_database_refuses_to_change_an_event(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    sign_in(alpha, "member-alpha", "password-123")
    with tenant_context(alpha.spec), pytest.raises(DatabaseError, match="append-only"), \
            transaction.atomic(using=alpha.spec.alias), connections[alpha.spec.alias].cursor() as cursor:
        cursor.execute("DELETE FROM projects_securityevent")


def test_tenant_admins_read_the_log_in_pages_and_others_are_refused(product: dict[str, TenantWorld],
                                                                   django_assert_num_queries: Any) -> None:
    beta = product["beta"]  # no replica: every query is on the alias counted
    for _ in range(3):
        sign_in(beta, "viewer-beta", "wrong-password")
    admin = as_user(beta, "admin")
    with override_settings(TENANT_CACHE_CHECK_SECONDS=0):
        for _ in range(2):
            admin.get("/api/me/")  # warm the tenant and host caches
        with django_assert_num_queries(2, using=beta.spec.alias), django_assert_num_queries(0, using="default"):
            body = admin.get("/api/audit/?page_size=2").json()  # the token with its user, the page
    assert [row["kind"] for row in body["results"]] == ["signin_failed"] * 2 and body["next"]
    assert body["results"][0]["username"] == "viewer-beta"
    assert as_user(beta, "member").get("/api/audit/").status_code == 403
    assert as_user(beta, "member").get("/api/audit/").json()["code"] == "permission_denied"
    assert as_user(product["alpha"], "admin").get("/api/audit/").json()["results"] == []
