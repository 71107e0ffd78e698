"""Password sign-in that can neither be brute-forced nor starve other requests.

Every password check of the project (tenant and platform token endpoints,
Django admin login) goes through `GuardedModelBackend`, so one place enforces:

* a per-client-IP budget of sign-in attempts and a per-account budget of
  failed attempts (fixed windows in the shared cache), answered with 429
  `signin_throttled` and `Retry-After`;
* at most `SIGNIN_CONCURRENCY` password checks at once per process. A check
  that finds every slot busy is refused at once with 503 `signin_busy`
  instead of queueing: requests that need no password never wait behind
  hashing.

Unknown usernames pay for a full hash too (Django's ModelBackend hashes the
password anyway) and go through the same slots, so timing tells nothing
about which accounts exist and offers no cheaper path around the bound.
When the cache is down the budgets let attempts through; the slots still hold.

A successful check sends `signed_in` (request, user); a failed one is announced
by Django's own `user_login_failed`. Receivers (the tenant's security events,
`projects.security`) must not raise: a sign-in never fails because of them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.cache import cache
from django.dispatch import Signal
from django.http import HttpRequest

from core.clients import client_ip
from core.errors import ApiError, CoreErrorCode
from core.plans import parse_rate

signed_in = Signal()  # sent with `request` and `user` after a password check succeeded


class SigninThrottled(ApiError):
    status_code = 429
    code = CoreErrorCode.SIGNIN_THROTTLED
    detail = "Too many sign-in attempts; try again later."


class SigninBusy(ApiError):
    status_code = 503
    code = CoreErrorCode.SIGNIN_BUSY
    detail = "Too many sign-ins in progress; try again in a moment."


class _Gate:
    """The per-process bound on concurrent password checks (one owner, one `reset()`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._size = 0
        self._slots = threading.BoundedSemaphore(1)

    def semaphore(self) -> threading.BoundedSemaphore:
        size = max(1, settings.SIGNIN_CONCURRENCY)
        with self._lock:
            if size != self._size:  # first use, or the setting changed (tests)
                self._size, self._slots = size, threading.BoundedSemaphore(size)
            return self._slots

    def reset(self) -> None:
        with self._lock:
            self._size = 0


gate = _Gate()


@contextmanager
def password_slot() -> Iterator[None]:
    """Hold one of this process's password-check slots, or raise `SigninBusy` at once."""
    slots = gate.semaphore()
    if not slots.acquire(blocking=False):
        raise SigninBusy(headers={"Retry-After": "1"})
    try:
        yield
    finally:
        slots.release()


def _count(key: str, *, add: bool, seconds: int) -> tuple[int, int]:
    """Return the attempts counted at `key` and the seconds until they expire.

    A window opens at the first attempt and lasts `seconds` (0 attempts when
    the cache is down). With `add`, this attempt is counted first.
    """
    if add and cache.add(key, 1, timeout=seconds):
        return 1, seconds
    try:
        count = int((cache.incr(key) if add else cache.get(key)) or 0)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=seconds)
        return 1, seconds
    ttl = getattr(cache, "ttl", lambda key: seconds)(key)
    return count, int(ttl) if ttl and ttl > 0 else seconds


def _check(kind: str, ident: str, rate: str, *, add: bool) -> None:
    limit, seconds = parse_rate(rate)
    count, left = _count(f"signin:{kind}:{ident}", add=add, seconds=seconds)
    if count > limit or (not add and count >= limit):  # without `add`, this attempt is not counted yet
        raise SigninThrottled(headers={"Retry-After": str(max(1, left))})


def _failed(account: str) -> None:
    _count(f"signin:account:{account}", add=True, seconds=parse_rate(settings.SIGNIN_ACCOUNT_RATE)[1])


def signin_guard(request: Any, account: str) -> None:
    """Count an attempt from the request's IP; raise `SigninThrottled` when a budget is spent."""
    if request is not None:
        _check("ip", client_ip(request), settings.SIGNIN_IP_RATE, add=True)
    _check("account", account.lower(), settings.SIGNIN_ACCOUNT_RATE, add=False)


class GuardedModelBackend(ModelBackend):
    """Django's ModelBackend behind the sign-in budgets and the per-process slots."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> User | None:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        signin_guard(request, username)
        with password_slot():
            user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            _failed(username.lower())
        else:
            signed_in.send(sender=GuardedModelBackend, request=request, user=user)
        return user

    async def aauthenticate(self, request: HttpRequest | None, username: str | None = None,
                            password: str | None = None, **kwargs: Any) -> User | None:
        """Run `authenticate` (ModelBackend's own async version would skip the guards)."""
        return await sync_to_async(self.authenticate)(request, username, password, **kwargs)
