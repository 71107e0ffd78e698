"""Fleet rollback: `migrate_tenants APP MIGRATION` backwards and forwards vs a sequential loop, same run.

Two fleets of N tenant databases on server b (clones of the template), both
brought to fleetapp 0002 first (setup, untimed). Then, each contender a fresh
process on its own fleet:

* ours: `manage.py migrate_tenants fleetapp 0001 --parallel P --tenants <N slugs>`
  (Django's executor per database, P at a time; the control plane's ledger
  is rolled back too), then `migrate_tenants fleetapp 0002_widget_color` to
  go forwards again to a target;
* loop: `python -m bench.fleet_loop <N slugs> fleetapp 0001` (Django's
  `migrate fleetapp 0001 --database <alias>` per database, one after
  another), then the same forwards.

Medians over `--repeat` fresh fleets, and the loop's time over ours.

    python -m bench.fleet_rollback [--quick] [--sizes 100] [--parallel 4] [--repeat 2]     (services up)
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.commands import timed_command
from bench.fleet import SERVER, SETTINGS, _drop_fleet, _make_fleet, _setup_control, ensure_templates, switch_to

FULL = {"sizes": "100", "parallel": 4, "repeat": 2}
QUICK = {"sizes": "5", "parallel": 2, "repeat": 1}
STEPS = {"back": ("fleetapp", "0001_initial"), "forward": ("fleetapp", "0002_widget_color")}
V2 = {"BENCH_FLEET_MIGRATIONS": "v2"}


def ours(slugs: list[str], target: tuple[str, str] | None, parallel: int) -> float:
    """Time `manage.py migrate_tenants [target]` over `slugs`; check the run is done."""
    from migrations_tooling.models import MigrationRun

    args = ["manage.py", "migrate_tenants", *(target or ()), "--parallel", str(parallel), "--tenants",
            ",".join(slugs), "-v", "0"]
    elapsed, _ = timed_command(args, settings=SETTINGS, env=V2)
    run = MigrationRun.objects.order_by("-pk").first()
    assert run is not None and run.status == "done", run
    return elapsed


def loop(slugs: list[str], target: tuple[str, str] | None) -> float:
    elapsed, _ = timed_command(["-m", "bench.fleet_loop", ",".join(slugs), *(target or ())], settings=SETTINGS,
                               env=V2)
    return elapsed


def measure(size: int, parallel: int) -> dict[str, float]:
    """Time both contenders going back to 0001, then forwards to 0002, on fresh fleets of `size`."""
    switch_to("v1")
    ensure_templates()
    fleet_a, fleet_b = _make_fleet("bench-ra", size), _make_fleet("bench-rb", size)
    sample: dict[str, float] = {}
    try:
        ours(fleet_a + fleet_b, None, parallel)  # setup: both fleets at 0002
        for step, target in STEPS.items():
            sample[f"{step}_ours"] = ours(fleet_a, target, parallel)
            sample[f"{step}_loop"] = loop(fleet_b, target)
    finally:
        switch_to("v1")
        _drop_fleet(fleet_a + fleet_b)
        ensure_templates()
    return sample


def report(results: dict[int, dict[str, Any]], opts: dict[str, Any]) -> None:
    from bench.common import print_table, write_result

    rows = []
    for size, result in results.items():
        median = result["median"]
        for step, (app, name) in STEPS.items():
            ratio = median[f"{step}_loop"] / median[f"{step}_ours"]
            rows.append((str(size), f"to {app} {name}", f"{median[f'{step}_ours']:.2f}",
                         f"{median[f'{step}_loop']:.2f}", f"{ratio:.1f}x"))
    print_table(f"Fleet to a target migration on server {SERVER} (seconds, median of {opts['repeat']}, each a "
                f"fresh process; migrate_tenants APP MIGRATION --parallel {opts['parallel']} vs a sequential "
                "migrate APP MIGRATION --database loop)", rows,
                ("databases", "step", "migrate_tenants", "sequential loop", "loop / ours"))
    print(f"\nwritten {write_result('fleet_rollback', {'options': opts, 'results': results})}")


def main() -> None:
    from bench.common import sized_options

    _, opts = sized_options(FULL, QUICK)
    import django

    django.setup()
    _setup_control()
    results: dict[int, dict[str, Any]] = {}
    for size in [int(s) for s in str(opts["sizes"]).split(",")]:
        samples = [measure(size, int(opts["parallel"])) for _ in range(int(opts["repeat"]))]
        median = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
        results[size] = {"median": median, "samples": samples}
        print(f"size {size}: {median}", flush=True)
    report(results, opts)


if __name__ == "__main__":
    main()
