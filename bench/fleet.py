"""Fleet migrations: `migrate_tenants` vs a sequential `migrate --database` loop, same run.

For each fleet size N: two fleets of N tenant databases (cloned from the
template on server b), one per contender, so both start from the same state.

* no-op: every database is current. migrate_tenants reads each database's
  `django_migrations` over a short connection (thread pool); the baseline runs
  Django's `migrate --database <alias>` per database, in one process (generous
  to it: a shell loop would also pay Django start-up per database).
* one migration (fleetapp 0002, adds a nullable column): migrate_tenants
  --parallel P vs the same loop.

    python -m bench.fleet [--sizes 100,500] [--parallel 4]     (services up)
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

SERVER = "b"


def _setup_control() -> None:
    from django.core.management import call_command
    from django.db import connections

    from tests.conftest import recreate_database

    connections.close_all()
    recreate_database("tessera_bench_control")
    call_command("migrate", database="default", verbosity=0)


def _make_fleet(prefix: str, count: int) -> list[str]:
    from django.conf import settings

    from tenants import dbops, services
    from tenants.models import Tenant

    services.servers_sync()
    slugs = [f"{prefix}-{i:04d}" for i in range(count)]
    rows = []
    for slug in slugs:
        database = settings.TENANT_DB_NAME_PREFIX + slug.replace("-", "_")
        dbops.drop_database(SERVER, database)
        dbops.create_database(SERVER, database, template=settings.TENANT_TEMPLATE_DB)
        rows.append(Tenant(slug=slug, name=slug, server_id=SERVER, database=database,
                           admin_email=f"o@{slug}.test", status="active"))
    Tenant.objects.bulk_create(rows)
    return slugs


def _drop_fleet(slugs: list[str]) -> None:
    from tenants import dbops
    from tenants.models import Tenant

    for tenant in Tenant.objects.filter(slug__in=slugs):
        dbops.drop_database(SERVER, tenant.database)
    Tenant.objects.filter(slug__in=slugs).delete()


def ours(slugs: list[str], parallel: int) -> float:
    from migrations_tooling import runner

    started = time.perf_counter()
    run = runner.execute(runner.start_run(runner.RunOptions(parallel=parallel, tenants=slugs)).pk)
    elapsed = time.perf_counter() - started
    assert run.status == "done", run.error
    return elapsed


def baseline(slugs: list[str]) -> float:
    from django.core.management import call_command
    from django.db import connections

    from routers import registry
    from tenants import selectors
    from tenants.models import Tenant

    started = time.perf_counter()
    for tenant in Tenant.objects.filter(slug__in=slugs).order_by("slug"):
        spec = selectors.tenant_spec(tenant)
        registry.ensure_registered(spec)
        call_command("migrate", database=spec.direct_alias, verbosity=0, interactive=False)
        connections[spec.direct_alias].close()
        registry.unregister(spec.slug)
    return time.perf_counter() - started


def switch_to(version: str) -> None:
    from django.conf import settings

    from tenants import templates

    settings.MIGRATION_MODULES = {"fleetapp": f"tests.fleetapp.migrations_{version}"}
    templates._expected.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,500")
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    import django

    django.setup()
    from bench.common import print_table, write_result
    from tenants.templates import ensure_template

    _setup_control()
    results = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        switch_to("v1")
        ensure_template(SERVER)
        created = time.perf_counter()
        fleet_a, fleet_b = _make_fleet("bench-a", size), _make_fleet("bench-b", size)
        clone_s = (time.perf_counter() - created) / (2 * size)
        try:
            noop = {"ours": ours(fleet_a, args.parallel), "baseline": baseline(fleet_b)}
            switch_to("v2")
            one = {"ours": ours(fleet_a, args.parallel), "baseline": baseline(fleet_b)}
        finally:
            switch_to("v1")
            _drop_fleet(fleet_a + fleet_b)
        results[size] = {"noop_s": noop, "one_migration_s": one, "clone_s_per_db": clone_s,
                         "noop_ratio": noop["baseline"] / noop["ours"],
                         "one_migration_ratio": one["baseline"] / one["ours"]}
        print(f"size {size}: {results[size]}", flush=True)
    rows = []
    for size, r in results.items():
        rows.append((str(size), "no-op", f"{r['noop_s']['ours']:.2f}", f"{r['noop_s']['baseline']:.2f}",
                     f"{r['noop_ratio']:.1f}x"))
        rows.append((str(size), "one migration", f"{r['one_migration_s']['ours']:.2f}",
                     f"{r['one_migration_s']['baseline']:.2f}", f"{r['one_migration_ratio']:.1f}x"))
    print_table(f"Fleet migrations on server {SERVER} (seconds; migrate_tenants --parallel {args.parallel} "
                "vs sequential migrate --database loop)", rows,
                ("databases", "run", "migrate_tenants", "sequential loop", "speed-up"))
    print(f"\nwritten {write_result('fleet', {'parallel': args.parallel, 'results': results})}")


if __name__ == "__main__":
    main()
