"""Refuse a tenant's writes, in every process at once, for the few hundred milliseconds of a move's cutover.

The block is a Redis key per tenant (`tenants:moving:<slug>`), set by the
mover with a TTL (`TENANT_MOVE_BLOCK_TTL_SECONDS`, so a mover that dies
cannot block a tenant for longer) and read by every write request (any
method but GET, HEAD, OPTIONS) in the same round trip as the resolution
cache's generation: a write request therefore always resolves its tenant
with the latest generation, and the moment the cutover switches the tenant
and bumps the generation, the next write goes to the new database. Reads
never look at the block: they keep being served during the cutover.

Why a Redis key read on each write rather than a flag carried in the
resolution cache: the cache is only compared with Redis every
`TENANT_CACHE_CHECK_SECONDS`, so a flag there would reach some processes up
to that long after it was set, and the cutover would have to wait that long
before trusting it. The key costs one Redis round trip per write request
(measured by `bench/move.py`), none per read.

A write that passed the gate just before the block, but reaches the
database only after the cutover began, meets the fence: it waits on the
cutover's table locks and its session is ended, or it finds its privileges
revoked on the old database. Either way nothing was written; `was_moving`
lets the middleware answer such a write 503 `tenant_moving` too, not 500.

If Redis cannot be read the gate lets the write through: the move cannot set
a block then either, and the cutover's fence on the source database (its
table locks, then the revoked write privileges) still keeps every write
either on the database that serves the tenant or refused.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

from core.errors import ApiError
from routers import TenantSpec
from tenants import resolution
from tenants.errors import TenantErrorCode

BLOCK_PREFIX = "tenants:moving:"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TenantMoving(ApiError):
    status_code = 503
    code = TenantErrorCode.TENANT_MOVING
    detail = "This tenant is moving to another server; writes resume in a moment."


class BlockUnavailable(Exception):
    """The write block could not be set (Redis is unreachable): the cutover must not start."""


def block_key(slug: str) -> str:
    return f"{BLOCK_PREFIX}{slug}"


def writes_block(*, slug: str) -> None:
    """Refuse the writes of tenant `slug` in every process until `writes_unblock` (or the TTL)."""
    cache.set(block_key(slug), 1, timeout=settings.TENANT_MOVE_BLOCK_TTL_SECONDS)
    if cache.get(block_key(slug)) != 1:  # the cache ignores Redis errors: prove the block is there
        raise BlockUnavailable(f"could not block the writes of {slug}: Redis is unavailable")


def writes_unblock(*, slug: str) -> None:
    cache.delete(block_key(slug))


def write_blocked(slug: str) -> bool:
    """Return True while `slug`'s writes are blocked; bring this process's resolution cache up to date first."""
    values = cache.get_many([resolution.GENERATION_KEY, block_key(slug)])
    resolution.sync_generation(values.get(resolution.GENERATION_KEY))
    return block_key(slug) in values


def moving_error() -> TenantMoving:
    """Return the 503 a blocked write answers, with its Retry-After."""
    return TenantMoving(headers={"Retry-After": str(settings.TENANT_MOVE_RETRY_AFTER_SECONDS)})


INSUFFICIENT_PRIVILEGE = "42501"  # only a move's fence revokes privileges on a tenant database


def was_moving(spec: TenantSpec, exc: BaseException) -> bool:
    """Say whether `exc`, raised by a write of tenant `spec`, came from a move's fence (nothing was written)."""
    if not isinstance(exc, DatabaseError):
        return False
    if getattr(exc.__cause__, "pgcode", None) == INSUFFICIENT_PRIVILEGE or write_blocked(spec.slug):
        return True
    current = resolution.lookup(spec.slug)  # the generation was just brought up to date
    return current is not None and current.spec != spec
