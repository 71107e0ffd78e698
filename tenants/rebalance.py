"""Plan moves that even out the database servers, by tenant count or by database size.

`plan_moves` is pure (unit-tested): given each server's movable tenants and
their sizes, it proposes moves greedily, each from the most loaded server to
the least loaded one, choosing the tenant that narrows the gap between them
most, and stops when no move narrows it (so it never proposes a move that
only swaps which server is heavier). `fleet_loads` reads the loads;
`manage.py rebalance` prints the plan or applies it one move at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from core.aliases import CONTROL_ALIAS
from tenants import dbops, operations
from tenants.models import DatabaseServer, Tenant, TenantStatus

MAX_MOVES = 100


class Balance(StrEnum):
    COUNT = "count"
    SIZE = "size"


@dataclass(frozen=True, slots=True)
class TenantLoad:
    slug: str
    size: int  # bytes


@dataclass(frozen=True, slots=True)
class Move:
    slug: str
    source: str
    target: str
    size: int


def _weight(tenant: TenantLoad, by: Balance) -> int:
    return 1 if by is Balance.COUNT else tenant.size


def _load(tenants: list[TenantLoad], by: Balance) -> int:
    return sum(_weight(t, by) for t in tenants)


def plan_moves(servers: Mapping[str, list[TenantLoad]], *, by: Balance = Balance.COUNT,
               targets: set[str] | None = None, max_moves: int = MAX_MOVES) -> list[Move]:
    """Return moves that even out `servers` (name -> its movable tenants); `targets` may receive tenants."""
    placed = {name: sorted(tenants, key=lambda t: (t.size, t.slug)) for name, tenants in servers.items()}
    receivers = set(placed) if targets is None else set(targets) & set(placed)
    moves: list[Move] = []
    while len(moves) < max_moves and receivers:
        source = max(placed, key=lambda name: (_load(placed[name], by), name))
        target = min(receivers - {source} or {source}, key=lambda name: (_load(placed[name], by), name))
        chosen = _best_tenant(placed[source], _load(placed[source], by) - _load(placed[target], by), by)
        if target == source or chosen is None:
            break
        placed[source].remove(chosen)
        placed[target].append(chosen)
        moves.append(Move(chosen.slug, source, target, chosen.size))
    return moves


def _best_tenant(tenants: list[TenantLoad], gap: int, by: Balance) -> TenantLoad | None:
    """Return the tenant whose move narrows `gap` most (its weight nearest gap/2, below gap), or None.

    Among equals the smallest database goes: it is the quickest to copy.
    """
    useful = [t for t in tenants if 0 < _weight(t, by) < gap]
    if not useful:
        return None
    return min(useful, key=lambda t: (abs(2 * _weight(t, by) - gap), t.size, t.slug))


def fleet_loads() -> tuple[dict[str, list[TenantLoad]], set[str]]:
    """Return each configured server's movable tenants with their sizes, and the servers open to new tenants.

    Movable: active, with no move, restore or delete open. Every other live
    tenant still counts in its server's load (as an immovable weight is not
    modelled, they are simply left where they are).
    """
    servers = DatabaseServer.objects.using(CONTROL_ALIAS).filter(configured=True)
    busy = operations.busy_tenants()
    loads: dict[str, list[TenantLoad]] = {server.name: [] for server in servers}
    rows = (Tenant.objects.using(CONTROL_ALIAS).filter(status=TenantStatus.ACTIVE, server__in=list(loads))
            .exclude(slug__in=list(busy)).values_list("slug", "server_id", "database"))
    by_server: dict[str, dict[str, str]] = {}
    for slug, server_name, database in rows:
        by_server.setdefault(str(server_name), {})[str(database)] = str(slug)  # server_id is the server's name
    for name, databases in by_server.items():
        sizes = database_sizes(name, list(databases))
        loads[name] = [TenantLoad(slug, sizes.get(database, 0)) for database, slug in databases.items()]
    return loads, {server.name for server in servers if server.accepts_tenants}


def database_sizes(server: str, databases: list[str]) -> dict[str, int]:
    """Return the size in bytes of each of `databases` on `server` (one query)."""
    with dbops.server_connection(server) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT datname, pg_database_size(oid) FROM pg_database WHERE datname = ANY(%s)",
                       [databases])
        return {name: int(size) for name, size in cursor.fetchall()}
