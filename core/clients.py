"""Who is calling: the client address a request came from."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str:
    """Return the client's address, trusting `TRUSTED_PROXY_COUNT` proxies in front of us.

    With no trusted proxy (the default) only the socket's peer counts: an
    `X-Forwarded-For` header is the client's word and would let it pick any
    address (and a fresh rate-limit bucket) per request.
    """
    meta = getattr(request, "META", {})
    remote = str(meta.get("REMOTE_ADDR") or "unknown")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",") if hop.strip()]
    return hops[-proxies] if len(hops) >= proxies else remote
