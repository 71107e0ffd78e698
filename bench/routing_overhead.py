"""Per-query routing overhead: routed ORM queries vs plain Django with `.using()`.

Baseline: the same query with the alias named explicitly (`.using(alias)`),
which skips the router entirely, i.e. plain Django. Both run in this process,
interleaved, against the same database through the same connection.

    python -m bench.routing_overhead [--quick]        (services up: `make services`)
"""

from __future__ import annotations

import argparse
import time

from bench.common import interleaved, print_table, setup_django, write_result

CALLS, ROUNDS = 300, 15
QUICK_CALLS, QUICK_ROUNDS = 30, 3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    args = parser.parse_args()
    calls, rounds = (QUICK_CALLS, QUICK_ROUNDS) if args.quick else (CALLS, ROUNDS)
    setup_django("bench.contenders.settings_on")  # its own template and tenant databases
    from django.conf import settings
    from django.db import connections, router

    from projects.models import Project
    from routers import consistency, tenant_context
    from routers.spec import TenantSpec, database_name_for
    from tenants import dbops
    from tenants.templates import ensure_template

    results = {}
    for server in ("b", "a"):
        ensure_template(server)
        slug = f"bench-route-{server}"
        spec = TenantSpec(slug, server, database_name_for(slug, settings.TENANT_DB_NAME_PREFIX))
        dbops.drop_database(server, spec.database)
        dbops.create_database(server, spec.database, template=settings.TENANT_TEMPLATE_DB)
        with tenant_context(spec):
            project = Project.objects.create(name="bench", key="BN")
        time.sleep(0.5)  # let the replica replay the new database
        with consistency.read_scope(), tenant_context(spec):
            target = Project.objects.all().db  # replica on a, primary on b
            cases = {
                "plain Django (.using)": lambda t=target, pk=project.pk: Project.objects.using(t).filter(pk=pk).first(),
                "routed": lambda pk=project.pk: Project.objects.filter(pk=pk).first(),
                "router call only": lambda: router.db_for_read(Project),
            }
            medians = interleaved(cases, calls=calls, rounds=rounds)
        connections.close_all()
        dbops.drop_database(server, spec.database)
        base, routed = medians["plain Django (.using)"], medians["routed"]
        results[server] = {"target_alias": target, "medians_us": medians,
                           "overhead_us": routed - base, "ratio": routed / base}
    rows = [(f"server {s} -> {r['target_alias']}", f"{r['medians_us']['plain Django (.using)']:.1f}",
             f"{r['medians_us']['routed']:.1f}", f"{r['overhead_us']:+.1f}", f"{r['ratio']:.3f}",
             f"{r['medians_us']['router call only']:.2f}") for s, r in results.items()]
    print_table("Routing overhead per query (median µs, lower is better)", rows,
                ("case", "plain Django", "routed", "overhead", "ratio", "router call"))
    path = write_result("routing_overhead", {"calls_per_round": calls, "rounds": rounds, "results": results})
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
