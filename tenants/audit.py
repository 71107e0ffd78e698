"""The platform's audit log: who did what to which tenant, and how it was answered.

Call `audit_record` inside the transaction of the action it describes, on the
control plane: the record commits with the action or rolls back with it, so
the log never claims an action that did not happen. A refused action (a 400,
404, 409 or 503 answer) has no transaction to join: `audited` records it in a
short transaction of its own after the refusal, and a failure to write that
record is logged and counted, never raised (the caller gets the refusal it
was going to get).

Parameters are stored through `scrub`: any key naming a password, token,
secret or hash is dropped, at any depth.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from django.db import DatabaseError, transaction

from core.aliases import CONTROL_ALIAS
from core.errors import ApiError
from core.logging import client_ip_var, request_id_var
from core.metering import dropped
from tenants.models import AuditEvent, AuditOutcome, Tenant

SYSTEM_ACTOR = "system"  # a service called without an actor (scripts, tests, internal callers)
SECRET_MARKERS = ("password", "token", "secret", "hash")
logger = logging.getLogger("tessera.audit")

P = ParamSpec("P")
R = TypeVar("R")


def scrub(params: Mapping[str, Any]) -> dict[str, Any]:
    """Return `params` without secrets: keys naming a password, token, secret or hash are dropped."""
    return {key: _scrub_value(value) for key, value in params.items()
            if not any(marker in str(key).lower() for marker in SECRET_MARKERS)}


def _scrub_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return scrub(value)
    if isinstance(value, (list, tuple)):
        return [_scrub_value(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def audit_record(*, actor: str, action: str, target: Tenant | str | None = None,
                 params: Mapping[str, Any] | None = None, outcome: str = AuditOutcome.OK,
                 code: str = "") -> AuditEvent:
    """Append one audit record on the control plane and return it.

    `target` is the tenant acted on (or its slug when no such tenant exists;
    None for fleet-wide actions). The request id and client address come from
    the request being served (core.logging); both are empty in a CLI or task.
    """
    slug, pk = (target.slug, target.pk) if isinstance(target, Tenant) else (target or "", None)
    return AuditEvent.objects.using(CONTROL_ALIAS).create(
        actor=actor or SYSTEM_ACTOR, action=action, tenant_slug=slug[:40], tenant_pk=pk,
        params=scrub(params or {}), outcome=outcome, code=code[:60],
        request_id=_known(request_id_var.get()), client_ip=client_ip_var.get()[:64])


def _known(request_id: str) -> str:
    return "" if request_id == "-" else request_id


def audit_refusal(*, actor: str, action: str, target: str, params: Mapping[str, Any], code: str) -> None:
    """Record a refused action in a transaction of its own; log and count a failure, never raise it."""
    try:
        with transaction.atomic(using=CONTROL_ALIAS):
            tenant = Tenant.objects.using(CONTROL_ALIAS).filter(slug=target).exclude(status="deleted").first()
            audit_record(actor=actor, action=action, target=tenant or target, params=params,
                         outcome=AuditOutcome.REFUSED, code=code)
    except DatabaseError as exc:
        dropped.incr("audit_refusal")
        logger.warning("audit record of refused %s by %s dropped: %s", action, actor, exc)


NOT_PARAMS = ("actor", "requested_by", "slug", "tenant", "enqueue")


def _actor_of(kwargs: Mapping[str, Any]) -> str:
    return str(kwargs.get("actor") or kwargs.get("requested_by") or SYSTEM_ACTOR)


def _target_of(kwargs: Mapping[str, Any]) -> str:
    tenant = kwargs.get("tenant")
    return tenant.slug if isinstance(tenant, Tenant) else str(kwargs.get("slug") or "")


def audited(action: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record a refusal (an ApiError) of the keyword-only service it wraps as `action`, then re-raise it.

    The service records its own success with `audit_record` inside its
    transaction; the wrapper reads the actor (`actor`, or `requested_by` for
    the job-queuing services) and the target (`slug`, or a `tenant` object)
    from its keyword arguments and stores the others, scrubbed, as the
    parameters. A refusal after the success record (the broker would not take
    the job, so the action was undone) is recorded too: the log then reads
    "ok" followed by "refused" with the code the client got.
    """

    def wrap(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except ApiError as exc:
                params = {key: value for key, value in kwargs.items() if key not in NOT_PARAMS}
                audit_refusal(actor=_actor_of(kwargs), action=action, target=_target_of(kwargs), params=params,
                              code=exc.code)
                raise

        return inner

    return wrap
