"""Fleet migrations: `migrate_tenants` vs a sequential `migrate --database` loop vs django-tenants, same run.

For each fleet size N, three contenders, each on fleets of its own so all
start from the same state (the test app `tests.fleetapp` at v1):

* ours: `manage.py migrate_tenants --parallel P --tenants <N slugs>` over N
  tenant databases cloned from the template on server b. Its time includes
  everything the command does: control plane, lint, and the in-place refresh
  of both servers' templates (concurrent with the tenants; its share is also
  reported).
* loop: `python -m bench.fleet_loop` (Django's `migrate --database <alias>`
  per database, one after another, in one process) over another N databases.
* django-tenants: `manage.py migrate_schemas --executor=multiprocessing`
  with P worker processes over N schemas of the same models in one database
  on the same server (bench/peers/django_tenants_fleet.py), its public
  schema included.

Each contender runs as a fresh process, the way users run it, so each pays
one Django start-up (measured alone and reported); its output goes to a
pipe. Two runs: a no-op (everything current), then one migration (fleetapp
0002, a nullable column; `BENCH_FLEET_MIGRATIONS=v2`). The order of the
contenders rotates with each repeat, so drift on a shared machine hits all
alike. Each size is measured `--repeat` times on fresh fleets; medians are
reported, with each contender's time over ours (above 1: ours is faster).
Creating the fleets (clones) is setup, outside the timings.

    python -m bench.fleet [--quick] [--sizes 100,500] [--parallel 4] [--repeat 2]     (services up)
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from bench.commands import startup_seconds, timed_command
from bench.peers import django_tenants_fleet as peer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

SERVER = "b"
SETTINGS = "bench.settings"
FULL = {"sizes": "100,500", "parallel": 4, "repeat": 2, "peer_max": 100}
QUICK = {"sizes": "5", "parallel": 2, "repeat": 1, "peer_max": 5}
# django-tenants' own schema cloning (`clone_schema`, the setup of its fleet,
# never timed) slows down with every schema already in the database: 500
# schemas did not finish in 16 minutes on the 2-core machine. Its contender
# therefore runs for sizes up to --peer-max; larger sizes compare with the loop.
CONTENDERS = ("ours", "loop", "dt")
LABELS = {"ours": "migrate_tenants", "loop": "sequential loop", "dt": "django-tenants"}
RUNS = {"noop": ("v1", "no-op"), "one": ("v2", "one migration")}


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


def ours(slugs: list[str], version: str, parallel: int) -> tuple[float, float]:
    """Time `manage.py migrate_tenants` over `slugs`; return its wall time and the template refresh's share."""
    from migrations_tooling.models import MigrationRun

    args = ["manage.py", "migrate_tenants", "--parallel", str(parallel), "--tenants", ",".join(slugs)]
    elapsed, _ = timed_command(args, settings=SETTINGS, env={"BENCH_FLEET_MIGRATIONS": version})
    run = MigrationRun.objects.order_by("-pk").first()
    assert run is not None and run.status == "done", run
    templates = run.records.filter(database_label__startswith="template:").values_list("duration_ms", flat=True)
    return elapsed, max([ms or 0 for ms in templates], default=0) / 1000


def loop(slugs: list[str], version: str) -> float:
    """Time the sequential `migrate --database` loop over `slugs` (bench/fleet_loop.py)."""
    elapsed, _ = timed_command(["-m", "bench.fleet_loop", ",".join(slugs)], settings=SETTINGS,
                               env={"BENCH_FLEET_MIGRATIONS": version})
    return elapsed


def switch_to(version: str) -> None:
    """Point this process's fleetapp at migration set `version` (for the template setup)."""
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


def measure(size: int, parallel: int, repeat_no: int, *, with_peer: bool) -> dict[str, float]:
    """Time the contenders on fresh fleets of `size`: a no-op, then one migration."""
    switch_to("v1")
    ensure_templates()
    created = time.perf_counter()
    fleet_a, fleet_b = _make_fleet("bench-a", size), _make_fleet("bench-b", size)
    sample = {"clone_s_per_db": (time.perf_counter() - created) / (2 * size)}
    if with_peer:
        peer.reset()
    order = CONTENDERS[repeat_no % 3:] + CONTENDERS[:repeat_no % 3]
    order = [name for name in order if with_peer or name != "dt"]
    try:
        for run, (version, _) in RUNS.items():
            for name in order:
                if name == "ours":
                    sample[f"{run}_ours"], sample[f"{run}_ours_templates"] = ours(fleet_a, version, parallel)
                elif name == "loop":
                    sample[f"{run}_loop"] = loop(fleet_b, version)
                else:
                    sample[f"{run}_dt"] = peer.migrate_schemas(version, parallel)
        migrated = peer.schemas_with_color() if with_peer else size
        if migrated != size:
            raise RuntimeError(f"django-tenants migrated {migrated} of {size} schemas")
    finally:
        switch_to("v1")
        _drop_fleet(fleet_a + fleet_b)
    return sample


def summarise(samples: list[dict[str, float]]) -> dict[str, Any]:
    """Return the medians of `samples` and, per run, each contender's time over ours."""
    median = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
    ratios = {run: {"loop_over_ours": median[f"{run}_loop"] / median[f"{run}_ours"],
                    "dt_over_ours": median[f"{run}_dt"] / median[f"{run}_ours"] if f"{run}_dt" in median else None}
              for run in RUNS}
    return {"median": median, "ratios": ratios, "samples": samples}


def _cell(value: float | None, pattern: str) -> str:
    return "n/a (> --peer-max)" if value is None else pattern.format(value)


def report(results: dict[int, dict[str, Any]], opts: dict[str, Any], startup: dict[str, float]) -> None:
    from bench.common import print_table, write_result

    rows = []
    for size, result in results.items():
        m, ratios = result["median"], result["ratios"]
        for run, (_, label) in RUNS.items():
            rows.append((str(size), label, f"{m[f'{run}_ours']:.2f} (templates {m[f'{run}_ours_templates']:.2f})",
                         f"{m[f'{run}_loop']:.2f}", _cell(m.get(f"{run}_dt"), "{:.2f}"),
                         f"{ratios[run]['loop_over_ours']:.1f}x", _cell(ratios[run]["dt_over_ours"], "{:.1f}x")))
    print_table(f"Fleet migrations on server {SERVER} (seconds, median of {opts['repeat']}, each a fresh process; "
                f"migrate_tenants --parallel {opts['parallel']} vs a sequential migrate --database loop vs "
                f"django-tenants migrate_schemas --executor=multiprocessing with {opts['parallel']} processes)",
                rows, ("databases", "run", LABELS["ours"], LABELS["loop"], LABELS["dt"], "loop / ours",
                       "django-tenants / ours"))
    print(f"\nDjango start-up alone (in each figure): bench.settings {startup['ours']:.2f} s, "
          f"django-tenants peer {startup['dt']:.2f} s")
    path = write_result("fleet", {"options": opts, "startup_s": startup, "results": results})
    print(f"\nwritten {path}")


def main() -> None:
    from bench.common import sized_options

    _, opts = sized_options(FULL, QUICK)
    import django

    django.setup()
    _setup_control()
    startup = {"ours": startup_seconds(SETTINGS), "dt": startup_seconds(peer.SETTINGS)}
    results: dict[int, dict[str, Any]] = {}
    try:
        for size in [int(s) for s in str(opts["sizes"]).split(",")]:
            with_peer = size <= int(opts["peer_max"])
            schema_clone_s = peer.build(size) if with_peer else None
            samples = [measure(size, int(opts["parallel"]), n, with_peer=with_peer) for n in range(int(opts["repeat"]))]
            results[size] = {**summarise(samples), "dt_clone_s_per_schema": schema_clone_s}
            print(f"size {size}: {results[size]['median']}", flush=True)
    finally:
        peer.drop()
    report(results, opts, startup)


if __name__ == "__main__":
    main()
