"""Rate limit on platform sign-in: password guesses per client address."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle


class PlatformSignInThrottle(AnonRateThrottle):
    """Limit `POST /api/platform/auth/token/` per client address (PLATFORM_SIGNIN_RATE_LIMIT)."""

    scope = "platform_signin"

    def get_rate(self) -> str | None:
        return str(settings.PLATFORM_SIGNIN_RATE_LIMIT)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return f"throttle:{self.scope}:{self.get_ident(request)}"
