"""Transactions on the current tenant's database.

Plain `transaction.atomic()` opens a transaction on `default` (the control
plane), which silently leaves tenant writes outside it. Tenant code uses these.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.db.transaction import Atomic

from routers.context import current_alias


def tenant_atomic(*, savepoint: bool = True, durable: bool = False) -> Atomic:
    """Return `transaction.atomic()` bound to the current tenant's primary."""
    return transaction.atomic(using=current_alias(), savepoint=savepoint, durable=durable)


def tenant_on_commit(func: Callable[[], object], *, robust: bool = False) -> None:
    """Run `func` after the current tenant transaction commits (at once outside one)."""
    transaction.on_commit(func, using=current_alias(), robust=robust)
