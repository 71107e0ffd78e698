"""Liveness and readiness against the real local services."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token

from core.health import readiness


@pytest.fixture(autouse=True)
def fresh_readiness() -> Iterator[None]:
    readiness.reset()
    yield
    readiness.reset()


@pytest.fixture
def admin_client(db: None) -> Client:
    """A client carrying a platform admin's token (the callers who see the checks)."""
    user = User.objects.create_user("ops-health", password="x-pass-123", is_staff=True)
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


@pytest.mark.unit
def test_healthz_answers_ok_without_touching_dependencies(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert readiness.runs == 0


def test_readyz_reports_every_component_green_to_a_platform_admin(admin_client: Client) -> None:
    response = admin_client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    checks = body["checks"]
    expected = {"control", "control_replica", "redis", "broker", "server:a:primary", "server:a:replica0",
                "server:a:pooler", "server:a:replica0_pooler", "server:b:primary", "server:b:pooler"}
    assert expected <= set(checks)
    assert all(check["ok"] for check in checks.values())
    assert checks["server:a:replica0"]["replay_lag_seconds"] >= 0
    assert checks["control_replica"]["replay_lag_seconds"] >= 0


@pytest.mark.django_db
def test_readyz_is_503_and_names_the_failed_component_when_redis_is_unreachable(admin_client: Client) -> None:
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = admin_client.get("/readyz")
        anonymous = Client().get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False
    assert "Connection" in body["checks"]["redis"]["error"]
    assert body["checks"]["control"]["ok"] is True
    # Anyone else learns the status only: no component, host or port.
    assert anonymous.status_code == 503 and anonymous.json() == {"status": "unavailable"}
    assert b"127.0.0.1" not in anonymous.content


@pytest.mark.django_db
def test_a_tenant_users_or_bad_token_sees_no_details(admin_client: Client) -> None:
    plain = User.objects.create_user("not-staff", password="x-pass-123")
    for header in (f"Token {Token.objects.create(user=plain).key}", "Token nope", "Bearer x", ""):
        assert Client(HTTP_AUTHORIZATION=header).get("/readyz").json() == {"status": "ready"}


@pytest.mark.django_db
def test_calls_within_the_ttl_run_the_checks_once(admin_client: Client) -> None:
    with override_settings(READYZ_CACHE_SECONDS=600):
        first = admin_client.get("/readyz").json()
        start = threading.Barrier(10)
        statuses: list[int] = []

        def call() -> None:
            start.wait()
            statuses.append(Client().get("/readyz").status_code)

        callers = [threading.Thread(target=call) for _ in range(10)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        assert statuses == [200] * 10
        assert admin_client.get("/readyz").json()["checks"] == first["checks"]  # the same run, reused
        assert readiness.runs == 1
    with override_settings(READYZ_CACHE_SECONDS=0):
        admin_client.get("/readyz")
        assert readiness.runs == 2  # past the TTL: checked again
