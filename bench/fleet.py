"""Fleet migrations: `migrate_tenants` vs a sequential `migrate --database` loop, same run.

For each fleet size N: two fleets of N tenant databases (cloned from the
template on server b), one per contender, so both start from the same state.

* no-op: every database is current. migrate_tenants reads each database's
  `django_migrations` over a short connection (thread pool); the baseline runs
  Django's `migrate --database <alias>` per database, in one process (generous
  to it: a shell loop would also pay Django start-up per database).
* one migration (fleetapp 0002, adds a nullable column): migrate_tenants
  --parallel P vs the same loop. Our time includes everything the command
  does: control plane, lint, and the in-place refresh of both servers'
  templates (run concurrently with the tenants; its share is also reported).

Each size is measured `--repeat` times on fresh fleets; medians are reported.
Templates are brought to the starting code before each repeat (setup).

    python -m bench.fleet [--sizes 100,500] [--parallel 4] [--repeat 2]     (services up)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

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


def ours(slugs: list[str], parallel: int) -> tuple[float, float]:
    """Run migrate_tenants over `slugs`; return its wall time and the template refresh's share of it."""
    from migrations_tooling import runner

    started = time.perf_counter()
    run = runner.execute(runner.start_run(runner.RunOptions(parallel=parallel, tenants=slugs)).pk)
    elapsed = time.perf_counter() - started
    assert run.status == "done", run.error
    templates = run.records.filter(database_label__startswith="template:").values_list("duration_ms", flat=True)
    return elapsed, max([ms or 0 for ms in templates], default=0) / 1000


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


def ensure_templates() -> None:
    """Bring every server's template to the current code (setup, outside the timings)."""
    from core.dbservers import configured_servers
    from tenants.templates import ensure_template

    for server in configured_servers():
        ensure_template(server)


def measure(size: int, parallel: int) -> dict[str, float]:
    """Time both contenders on fresh fleets of `size`: a no-op, then one migration."""
    switch_to("v1")
    ensure_templates()
    created = time.perf_counter()
    fleet_a, fleet_b = _make_fleet("bench-a", size), _make_fleet("bench-b", size)
    sample = {"clone_s_per_db": (time.perf_counter() - created) / (2 * size)}
    try:
        sample["noop_ours"], _ = ours(fleet_a, parallel)
        sample["noop_baseline"] = baseline(fleet_b)
        switch_to("v2")
        sample["one_ours"], sample["one_ours_templates"] = ours(fleet_a, parallel)
        sample["one_baseline"] = baseline(fleet_b)
    finally:
        switch_to("v1")
        _drop_fleet(fleet_a + fleet_b)
    return sample


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,500")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2, help="fresh fleets per size; medians are reported")
    args = parser.parse_args()
    import django

    django.setup()
    from bench.common import print_table, write_result

    _setup_control()
    results: dict[int, dict[str, Any]] = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        samples = [measure(size, args.parallel) for _ in range(args.repeat)]
        median = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
        results[size] = {"median": median, "samples": samples,
                         "noop_ratio": median["noop_baseline"] / median["noop_ours"],
                         "one_migration_ratio": median["one_baseline"] / median["one_ours"]}
        print(f"size {size}: {results[size]}", flush=True)
    rows = []
    for size, r in results.items():
        m = r["median"]
        rows.append((str(size), "no-op", f"{m['noop_ours']:.2f}", f"{m['noop_baseline']:.2f}",
                     f"{r['noop_ratio']:.1f}x"))
        rows.append((str(size), "one migration", f"{m['one_ours']:.2f} (templates {m['one_ours_templates']:.2f})",
                     f"{m['one_baseline']:.2f}", f"{r['one_migration_ratio']:.1f}x"))
    print_table(f"Fleet migrations on server {SERVER} (seconds, median of {args.repeat}; migrate_tenants "
                f"--parallel {args.parallel}, templates refreshed concurrently and included, vs a sequential "
                "migrate --database loop)", rows,
                ("databases", "run", "migrate_tenants", "sequential loop", "speed-up"))
    print(f"\nwritten {write_result('fleet', {'parallel': args.parallel, 'repeat': args.repeat, 'results': results})}")


if __name__ == "__main__":
    main()
