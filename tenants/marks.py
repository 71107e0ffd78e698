"""The comment that says which tenant owns a database: `tessera-tenant:<tenant id>`.

Every destructive step (drop, orphan sweep, retirement) proves this mark
before it acts, so it lives below all of them: provisioning writes it, moves
and restores write it on the database they build, and none of them has to
import another to learn its spelling. (The transient marks of a move, a
restore and a retired database belong to their own modules.)
"""

from __future__ import annotations

from tenants.models import Tenant

OWNER_MARK = "tessera-tenant:"


def owner_mark(tenant: Tenant) -> str:
    """Return the comment that marks a database as created for `tenant`."""
    return f"{OWNER_MARK}{tenant.pk}"
