"""Fixtures for the platform API: a platform admin with a token, and helpers."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token


class Api:
    """A JSON client for the platform and tenant APIs."""

    def __init__(self, client: Client, token: str | None = None) -> None:
        self.client, self.token = client, token

    def _headers(self, tenant: str | None, token: str | None) -> dict[str, str]:
        headers = {}
        if token or self.token:
            headers["HTTP_AUTHORIZATION"] = f"Token {token or self.token}"
        if tenant:
            headers["HTTP_X_TENANT"] = tenant
        return headers

    def get(self, path: str, *, tenant: str | None = None, token: str | None = None) -> Any:
        return self.client.get(path, **self._headers(tenant, token))

    def post(self, path: str, data: Any = None, *, tenant: str | None = None, token: str | None = None) -> Any:
        return self.client.post(path, data or {}, content_type="application/json",
                                **self._headers(tenant, token))

    def delete(self, path: str, *, tenant: str | None = None, token: str | None = None) -> Any:
        return self.client.delete(path, **self._headers(tenant, token))

    def wait_status(self, slug: str, wanted: set[str], timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = self.get(f"/api/platform/tenants/{slug}/")
            body = response.json() if response.status_code == 200 else {"status": "gone"}
            if body["status"] in wanted:
                return body
            time.sleep(0.02)
        raise AssertionError(f"tenant {slug} still {body.get('status')} after {timeout}s: {body}")

    def tenant_token(self, slug: str, username: str, password: str) -> str:
        response = self.post("/api/auth/token/", {"username": username, "password": password}, tenant=slug)
        assert response.status_code == 200, response.content
        return response.json()["token"]


@pytest.fixture
def platform(control_db: None, celery_worker_process: object) -> Api:
    admin = User.objects.create_user("platform-admin", password="platform-pw", is_staff=True)
    token = Token.objects.create(user=admin)
    return Api(Client(), token.key)


def new_tenant(slug: str, **extra: Any) -> dict[str, Any]:
    return {"slug": slug, "name": slug.title(), "admin_email": f"owner@{slug}.test",
            "admin_password": "owner-pass-1", **extra}
