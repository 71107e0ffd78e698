"""Record the tenant's security events in its own database, without ever failing the request.

Sign-ins arrive as signals from `core.signin` (success) and Django's
`user_login_failed` (failure), sent by every password check of the project;
only those made inside a tenant context are recorded here (the platform's own
sign-ins are not a tenant's business). A write that fails is logged and
counted (`core.metering.dropped["security_event"]`) and the request goes on:
each record is its own savepoint, so even inside a caller's transaction a
refused insert takes nothing else with it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError

from core.logging import client_ip_var, request_id_var
from core.metering import dropped
from projects.models import SecurityEvent, SecurityKind
from routers import current_tenant_or_none, tenant_atomic

__all__ = ["SecurityKind", "security_event_record"]
logger = logging.getLogger("tessera.security")


def security_event_record(*, kind: str, user: Any = None, user_id: int | None = None, actor: Any = None,
                          subject: str = "", detail: dict[str, Any] | None = None) -> SecurityEvent | None:
    """Append one security event to the current tenant's database; None when it could not be written."""
    request_id = request_id_var.get()
    try:
        with tenant_atomic():
            return SecurityEvent.objects.create(
                kind=kind, user_id=user.pk if user is not None else user_id,
                username=user.get_username() if user is not None else "", subject=subject,
                actor_id=getattr(actor, "pk", None), detail=detail or {},
                request_id="" if request_id == "-" else request_id, client_ip=client_ip_var.get()[:64])
    except DatabaseError as exc:
        dropped.incr("security_event")
        logger.warning("security event %s dropped: %s", kind, exc)
        return None


def subject_of(username: str) -> str:
    """Return a keyed digest of a typed username: equal for equal names, unreadable otherwise."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, username.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def on_signin(sender: Any, user: Any, **kwargs: Any) -> None:
    """Record a successful sign-in made inside a tenant."""
    if current_tenant_or_none() is not None:
        security_event_record(kind=SecurityKind.SIGNIN, user=user, actor=user)


def on_signin_failed(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    """Record a failed sign-in inside a tenant: a known account by id, an unknown one by digest only."""
    if current_tenant_or_none() is None:
        return
    typed = str(credentials.get("username") or "")[:150]
    known = get_user_model().objects.filter(username=typed).first() if typed else None
    if known is not None:
        security_event_record(kind=SecurityKind.SIGNIN_FAILED, user=known)
    else:
        security_event_record(kind=SecurityKind.SIGNIN_FAILED, subject=subject_of(typed))
