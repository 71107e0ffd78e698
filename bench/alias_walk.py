"""What Django's per-request connection upkeep costs as a process registers more tenant aliases.

Every request runs `reset_queries` and `close_old_connections` (twice), each
a walk of `connections.all(initialized_only=True)`. Django's walk asks the
thread-local storage about every registered alias; Tessera's
(`core.db.lifecycle`) asks only about the wrappers the thread built. The
three walks of one request are timed in process, with the thread holding
the control plane's connection only, against 0, 256 and 2,000 registered
tenants (primary + replica aliases each), both ways, rounds interleaved.

    python -m bench.alias_walk [--quick]        (no service is touched)
"""

from __future__ import annotations

import argparse

from bench.common import interleaved, print_table, setup_django, write_result

SIZES, QUICK_SIZES = (0, 256, 2000), (0, 50)


def cases() -> dict[str, object]:
    from django.db import close_old_connections, connections, reset_queries
    from django.utils.connection import BaseConnectionHandler

    from core.db import lifecycle

    def one_request() -> None:
        reset_queries()
        close_old_connections()
        close_old_connections()

    def django_way() -> None:
        connections.all = lambda initialized_only=False: BaseConnectionHandler.all(  # type: ignore[method-assign]
            connections, initialized_only=initialized_only)
        try:
            one_request()
        finally:
            lifecycle.install()

    return {"Django's walk": django_way, "Tessera's walk": one_request}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    args = parser.parse_args()
    setup_django("core.settings.local")
    from django.db import connections

    from routers import TenantSpec, ensure_registered

    connections["default"]  # the thread holds the control plane's wrapper, as a request does
    calls, rounds = (50, 3) if args.quick else (300, 15)
    results, rows, registered = {}, [], 0
    for size in QUICK_SIZES if args.quick else SIZES:
        for i in range(registered, size):
            ensure_registered(TenantSpec(slug=f"walk-{i}", server="a", database=f"tt_walk_{i}"))
        registered = size
        measured = interleaved(cases(), calls=calls, rounds=rounds)  # type: ignore[arg-type]
        aliases = len(connections.settings)
        results[str(size)] = {"aliases": aliases, **measured}
        rows.append((str(size), str(aliases), *(f"{value:.1f}" for value in measured.values())))
    print_table("Per-request connection upkeep (µs per request: 3 walks, in process)", rows,
                ("tenants registered", "aliases", "Django's walk", "Tessera's walk"))
    path = write_result("alias_walk", {"calls_per_round": calls, "rounds": rounds, "results": results})
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
