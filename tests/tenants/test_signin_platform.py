"""Platform token and Django admin sign-ins share the per-IP and per-account budgets."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, override_settings

_addresses = (f"203.0.113.{n}" for n in itertools.count(1))  # documentation range: one fresh IP per use


@pytest.fixture(autouse=True)
def fresh_budgets() -> Iterator[None]:
    """Forget the control plane's sign-in counters (an earlier run's stay in Redis for the window)."""
    cache.delete_pattern("signin:*")
    yield
    cache.delete_pattern("signin:*")


def test_platform_sign_in_is_throttled_per_ip_with_json_429(control_db: None) -> None:
    User.objects.create_user("ops", password="ops-pass-123", is_staff=True)
    client, ip = Client(), next(_addresses)
    with override_settings(SIGNIN_IP_RATE="2/hour"):
        def attempt(password: str, address: str = ip) -> object:
            return client.post("/api/platform/auth/token/", {"username": "ops", "password": password},
                               content_type="application/json", REMOTE_ADDR=address)

        assert [attempt("wrong").status_code for _ in range(2)] == [401, 401]
        limited = attempt("ops-pass-123")
        assert limited.status_code == 429 and limited.json()["code"] == "signin_throttled"
        assert int(limited["Retry-After"]) > 0
        assert attempt("ops-pass-123", next(_addresses)).status_code == 200


def test_admin_login_is_throttled_per_account(control_db: None) -> None:
    User.objects.create_superuser("root", password="root-pass-123")
    client = Client()
    with override_settings(SIGNIN_ACCOUNT_RATE="2/hour"):
        def attempt(password: str) -> object:
            return client.post("/admin/login/", {"username": "root", "password": password},
                               REMOTE_ADDR=next(_addresses))

        assert [attempt("wrong").status_code for _ in range(2)] == [200, 200]  # the form, with its error
        limited = attempt("root-pass-123")
        assert limited.status_code == 429 and limited.json()["code"] == "signin_throttled"
        assert int(limited["Retry-After"]) > 0
