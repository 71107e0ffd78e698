"""HTTP side of read-your-writes and replica failover."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from django.conf import settings
from django.db import Error as DatabaseDriverError
from django.http import HttpRequest, HttpResponse

from routers import consistency
from routers.runtime import runtime

logger = logging.getLogger("tessera.replicas")
COOKIE_SALT = "tessera.read-after"
COOKIE_MAX_AGE = 300
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ReadYourWritesMiddleware:
    """Read after the client's last write; hand out a new token after each write.

    The token comes from the `X-Tessera-Read-After` header or the signed cookie
    (the newer of both per server wins) and goes back in both after a write.
    A safe request that failed because a replica broke under it is retried once:
    the broken replica is out of rotation by then, so the retry reads from the
    primary or another replica instead of answering 500. A request that may
    write (POST, PUT, PATCH, DELETE) reads from primaries only: it validates
    against current data, and it is never caught half-done by a failing
    replica, since it could not be retried safely.

    Once a write is committed nothing here may turn the answer into an
    error: when the WAL position cannot be read (the pooler or server died
    right after the commit), the client gets a short-lived cookie that pins
    its reads of that server to the primary instead (`consistency.pin_written`),
    for `REPLICA_MAX_LAG_SECONDS`, after which any replica the router still
    uses has replayed the write.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = _incoming_token(request)
        with consistency.read_scope(incoming, primary_only=request.method not in SAFE_METHODS) as scope:
            response = self.get_response(request)
            if response.status_code >= 500 and scope.replica_failed and request.method in SAFE_METHODS:
                logger.warning("retrying %s %s after a replica failure", request.method, request.path)
                scope.replica_failed = False
                response = self.get_response(request)
            token, pinned = _token_after_writes() if scope.written else (None, False)
        if token and not pinned:
            response[settings.READ_AFTER_HEADER] = token
        if token:
            max_age = math.ceil(settings.REPLICA_MAX_LAG_SECONDS) + 1 if pinned else COOKIE_MAX_AGE
            response.set_signed_cookie(settings.READ_AFTER_COOKIE, token, salt=COOKIE_SALT,
                                       max_age=max_age, httponly=True, samesite="Lax")
        return response


def _token_after_writes() -> tuple[str | None, bool]:
    """Return the read-after token of this scope's writes, and whether it is a primary pin."""
    try:
        return consistency.capture_current(runtime.server_of), False
    except DatabaseDriverError as exc:  # committed already: degrade freshness tracking, never the answer
        logger.warning("no WAL position after a write (%s); pinning the client to primaries", exc)
        return consistency.pin_written(runtime.server_of), True


def _incoming_token(request: HttpRequest) -> str:
    header = request.headers.get(settings.READ_AFTER_HEADER, "")
    cookie = request.get_signed_cookie(settings.READ_AFTER_COOKIE, default="", salt=COOKIE_SALT,
                                       max_age=COOKIE_MAX_AGE)
    return ",".join(part for part in (header, cookie) if part)
