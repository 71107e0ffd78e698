"""Open tenant connections per process while traffic hits many tenants at random.

N tenant databases on server b (cloned from one seeded database), gunicorn
serving them, wrk sending `GET /api/tasks/<id>/` to a random tenant each
request (Host `<slug>.localhost`). While it runs, every 0.25 s:

* per gunicorn worker: its established TCP connections to server b
  (PgBouncer or PostgreSQL), read from /proc: what the process holds open;
* PgBouncer `SHOW CLIENTS` for the tenant databases (all processes);
* `pg_stat_activity` on server b for the tenant databases, by
  application_name: the server connections PgBouncer opened for them.

Two runs, same traffic: with the per-process budget (TENANT_CLIENT_CONNECTIONS_MAX
for tenants behind PgBouncer, TENANT_CONNECTIONS_MAX without)
and the naive baseline (the budget lifted: Django's one connection per alias
per thread, kept for CONN_MAX_AGE), which shows what the process would open.

    python -m bench.connections [--quick] [--tenants 500] [--seconds 30]     (services up)
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.stack import Server

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.contenders.settings_on"  # never the caller's

SERVER = "b"
NAIVE_BUDGET = "1000000"
FULL = {"tenants": 500, "seconds": 30.0, "workers": 2, "threads": 4, "connections": 32, "wrk_threads": 2}
QUICK = {"tenants": 12, "seconds": 3.0, "workers": 1, "threads": 4, "connections": 8, "wrk_threads": 1}


@dataclass
class Peaks:
    """The largest counts seen while the load ran."""

    per_process: dict[int, int] = field(default_factory=dict)
    pgbouncer_clients: int = 0
    server_connections: int = 0
    by_application: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"max_per_process": max(self.per_process.values(), default=0), "per_process": self.per_process,
                "pgbouncer_clients": self.pgbouncer_clients, "server_connections": self.server_connections,
                "server_connections_by_application": self.by_application}


def build_world(count: int) -> list[tuple[str, str]]:
    """Create `count` seeded tenants on server b; return the wrk targets (Host, path)."""
    from bench import world

    world.recreate_control()
    source, = world.tenants_create(["bench-conn-source"], SERVER)
    ids = world.tenant_seed(source, projects=1, tasks_per_project=5, direct=True)
    specs = world.tenants_create([f"bench-conn-{i:04d}" for i in range(count)], SERVER, source=source.database)
    return [(f"{spec.slug}.localhost", f"/api/tasks/{pk}/") for spec in specs for pk in ids]


def sample(server: Server, peaks: Peaks) -> None:
    """Take one sample of every count into `peaks`."""
    from django.conf import settings

    from bench.stack import established_to, pgbouncer_rows
    from core.dbservers import configured_servers
    from tenants import dbops

    config = configured_servers()[SERVER]
    ports = {config.primary.port, *([config.pooler.port] if config.pooler else [])}
    for pid in server.worker_pids():
        peaks.per_process[pid] = max(peaks.per_process.get(pid, 0), established_to(pid, ports))
    prefix = settings.TENANT_DB_NAME_PREFIX
    if config.pooler:
        clients = pgbouncer_rows(config, config.pooler, "SHOW CLIENTS")
        peaks.pgbouncer_clients = max(peaks.pgbouncer_clients,
                                      sum(1 for row in clients if str(row["database"]).startswith(prefix)))
    with dbops.server_connection(SERVER) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT application_name, count(*) FROM pg_stat_activity WHERE starts_with(datname, %s) "
                       "GROUP BY 1", [prefix])
        counts = dict(cursor.fetchall())
    peaks.server_connections = max(peaks.server_connections, sum(counts.values()))
    for name, n in counts.items():
        peaks.by_application[name] = max(peaks.by_application.get(name, 0), n)


def run(name: str, budget: str | None, script: Path, opts: dict[str, float]) -> dict[str, object]:
    """Serve the tenants with `budget` (None: the settings' default) under load; return the peaks."""
    from bench import load
    from bench.stack import Server, server_port

    env = {"TENANT_CONNECTIONS_MAX": budget, "TENANT_CLIENT_CONNECTIONS_MAX": budget} if budget else {}
    server = Server(f"connections-{name}", "bench.contenders.settings_on", server_port(0), int(opts["workers"]),
                    int(opts["threads"]), env=env)
    peaks, outcome = Peaks(), []

    def drive() -> None:
        outcome.append(load.run_wrk(server.url, script, seconds=opts["seconds"],
                                    connections=int(opts["connections"]), threads=int(opts["wrk_threads"])))

    server.start()
    try:
        driver = threading.Thread(target=drive)
        driver.start()
        while driver.is_alive():
            sample(server, peaks)
            time.sleep(0.25)
        driver.join()
    finally:
        server.stop()
    if not outcome:
        raise RuntimeError(f"wrk failed against {server.name}")
    result = outcome[0]
    return {**peaks.as_dict(), "rps": result.rps, "requests": result.requests, "non_2xx": result.non_2xx,
            "socket_errors": result.socket_errors}


def report(results: dict[str, dict[str, object]], budget: int, opts: dict[str, float]) -> None:
    from bench.common import print_table, write_result

    threads = int(opts["workers"]) * int(opts["threads"])
    rows = [(name, str(r["budget"]), str(r["max_per_process"]), str(r["pgbouncer_clients"]),
             str(r["server_connections"]), f"{r['rps']:.0f}", str(int(r["non_2xx"]) + int(r["socket_errors"])))
            for name, r in results.items()]
    print_table(f"Tenant connections while {int(opts['tenants'])} tenants get random traffic for "
                f"{opts['seconds']:.0f} s (gunicorn {int(opts['workers'])}x{int(opts['threads'])})", rows,
                ("run", "budget/process", "max open/process", "PgBouncer clients", "server conns", "req/s",
                 "errors"))
    bound = threads // int(opts["workers"]) * int(opts["tenants"])
    print(f"\nnaive bound: {bound} per process (threads per process x tenants)")
    path = write_result("connections", {"options": opts, "budget": budget, "naive_bound_per_process": bound,
                                        "results": results,
                                        "within_budget": results["budget"]["max_per_process"] <= budget})
    print(f"written {path}")


def main() -> None:
    from bench.common import sized_options

    _, opts = sized_options(FULL, QUICK)
    import django

    django.setup()
    from django.conf import settings

    from bench import load, world

    load.ensure_wrk()
    targets = build_world(int(opts["tenants"]))
    from core.dbservers import configured_servers

    pooled = settings.TENANT_USE_PGBOUNCER and configured_servers()[SERVER].pooler is not None
    budget = int(settings.TENANT_CLIENT_CONNECTIONS_MAX if pooled else settings.TENANT_CONNECTIONS_MAX)
    results = {}
    try:
        with load.scratch_dir() as scratch:
            from bench.seed import TOKEN

            script = load.write_script(targets, TOKEN, Path(scratch))
            for name, value in (("budget", None), ("naive", NAIVE_BUDGET)):
                results[name] = {"budget": "none" if value else budget, **run(name, value, script, opts)}
                print(f"  {name}: max {results[name]['max_per_process']} open per process", flush=True)
    finally:
        world.drop_tenant_databases()
    report(results, budget, opts)


if __name__ == "__main__":
    main()
