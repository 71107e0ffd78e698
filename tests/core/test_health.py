"""Liveness and readiness against the real local services."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings


def test_healthz_answers_ok_without_touching_dependencies(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_component_green(client: Client) -> None:
    response = client.get("/readyz")
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
def test_readyz_is_503_and_names_the_failed_component_when_redis_is_unreachable(client: Client) -> None:
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False
    assert "Connection" in body["checks"]["redis"]["error"]
    assert body["checks"]["control"]["ok"] is True
