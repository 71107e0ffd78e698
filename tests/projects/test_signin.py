"""Tenant sign-in: Argon2 hashes, budgets per IP and per account, a bound on password checks."""

from __future__ import annotations

import itertools

from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.test import Client, override_settings

from core import signin
from core.plans import parse_rate
from core.settings import base
from routers import tenant_context
from tests.core.hashers import CountingHasher
from tests.projects.conftest import TenantWorld, as_user

_addresses = (f"198.51.100.{n}" for n in itertools.count(1))  # documentation range: one fresh IP per use


def sign_in(world: TenantWorld, username: str, password: str, ip: str | None = None) -> object:
    client = Client(REMOTE_ADDR=ip or next(_addresses))
    return client.post("/api/auth/token/", {"username": username, "password": password},
                       content_type="application/json", HTTP_X_TENANT=world.spec.slug)


def test_argon2_hashes_new_passwords_and_pbkdf2_hashes_are_upgraded_on_sign_in(
    product: dict[str, TenantWorld],
) -> None:
    alpha = product["alpha"]
    assert base.PASSWORD_HASHERS[0] == "core.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS), tenant_context(alpha.spec):
        legacy = PBKDF2PasswordHasher().encode("old-pass-123", "somesalt", iterations=1000)
        User.objects.filter(username="member-alpha").update(password=legacy)
        response = sign_in(alpha, "member-alpha", "old-pass-123")
        assert response.status_code == 200, response.content
        stored = User.objects.get(username="member-alpha").password
        assert stored.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
        assert sign_in(alpha, "member-alpha", "old-pass-123").status_code == 200  # the new hash verifies


def test_sign_in_is_throttled_per_client_ip_with_retry_after(product: dict[str, TenantWorld]) -> None:
    alpha, ip = product["alpha"], next(_addresses)
    with override_settings(SIGNIN_IP_RATE="3/hour"):
        statuses = [sign_in(alpha, "member-alpha", "wrong", ip).status_code for _ in range(3)]
        limited = sign_in(alpha, "member-alpha", "password-123", ip)
        assert statuses == [401, 401, 401]
        assert limited.status_code == 429 and limited.json()["code"] == "signin_throttled"
        assert 0 < int(limited["Retry-After"]) <= 3600
        assert sign_in(alpha, "member-alpha", "password-123").status_code == 200  # another IP


def test_failed_sign_ins_throttle_the_account_from_any_ip(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    with override_settings(SIGNIN_ACCOUNT_RATE="2/hour"):
        assert [sign_in(alpha, "viewer-alpha", "wrong").status_code for _ in range(2)] == [401, 401]
        limited = sign_in(alpha, "VIEWER-alpha", "password-123")
        assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
        assert sign_in(alpha, "member-alpha", "password-123").status_code == 200  # other accounts sign in
        # the same username in another tenant is another account
        assert sign_in(product["beta"], "viewer-alpha", "wrong").status_code == 401


def test_a_saturated_process_refuses_password_checks_at_once(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    with override_settings(SIGNIN_CONCURRENCY=1):
        slots = signin.gate.semaphore()
        assert slots.acquire(blocking=False)  # a password check in progress elsewhere in this process
        try:
            for username in ("member-alpha", "nobody-at-all"):
                busy = sign_in(alpha, username, "password-123")
                assert busy.status_code == 503, busy.content
                assert busy.json()["code"] == "signin_busy" and busy["Retry-After"] == "1"
            assert as_user(alpha, "member").get("/api/me/").status_code == 200  # no password: served
        finally:
            slots.release()
        assert sign_in(alpha, "member-alpha", "password-123").status_code == 200


def test_unknown_usernames_pay_for_one_hash_like_known_ones(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    hashers = ["tests.core.hashers.CountingHasher"]
    with override_settings(PASSWORD_HASHERS=hashers), tenant_context(alpha.spec):
        user = User.objects.get(username="member-alpha")
        user.set_password("password-123")
        user.save()
        work = {}
        for username in ("member-alpha", "no-such-user"):
            CountingHasher.calls = 0
            assert sign_in(alpha, username, "wrong").status_code == 401
            work[username] = CountingHasher.calls
        assert work == {"member-alpha": 1, "no-such-user": 1}


def test_anonymous_requests_never_spend_the_tenant_wide_bucket(product: dict[str, TenantWorld]) -> None:
    alpha, ip = product["alpha"], next(_addresses)
    rates = {"tenant": "5/hour", "tenant_user": "1000/hour", "tenant_anon": "30/hour"}
    with override_settings(TENANT_THROTTLE_RATES=rates):
        flood = [sign_in(alpha, "member-alpha", "wrong", ip).status_code for _ in range(40)]
        assert set(flood[:30]) == {401} and set(flood[30:]) == {429}  # the flood's own IP bucket
        member = as_user(alpha, "member")
        assert [member.get("/api/me/").status_code for _ in range(5)] == [200] * 5
        assert member.get("/api/me/").status_code == 429  # the tenant bucket counts signed-in calls only
        assert sign_in(alpha, "member-alpha", "password-123").status_code == 200  # another IP signs in


def test_rates_read_like_drf_rates() -> None:
    assert [parse_rate(rate) for rate in ("30/min", "30/minute", "5/s", "2/hour", "1/day")] == [
        (30, 60), (30, 60), (5, 1), (2, 3600), (1, 86400)]
