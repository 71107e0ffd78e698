"""Noisy neighbour: another tenant's latency while one tenant runs slow queries at its connection limit.

Two tenants on server b, both on the free plan. A real gunicorn (2 workers x
4 threads) serves the quiet tenant's `GET /api/me/`, read sequentially. The
noisy tenant runs `SELECT pg_sleep(0.2)` in a loop from many threads, through
its own pooled connections: its PgBouncer pool (the plan's `connections`)
holds it to that many server connections, and the rest of its clients wait in
the pooler. Measured in one run: the quiet tenant's p50/p99 with the noisy one
idle, then while it is noisy, and the ratio (target: p99 within 1.5x of idle);
the most backends the noisy tenant held on the server (sampled from
`pg_stat_activity`) against its plan's pool and CONNECTION LIMIT.

    python -m bench.noisy_neighbour [--quick] [--reads 400] [--noisy-threads 16]     (services up)
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from bench.common import percentile, print_table, setup_django, sized_options, write_result
from bench.login import call
from bench.stack import Server, server_port

FULL = {"reads": 400, "noisy_threads": 16, "sleep_ms": 200, "workers": 2, "threads": 4}
QUICK = {"reads": 20, "noisy_threads": 4, "sleep_ms": 50, "workers": 1, "threads": 2}
PREFIX = "bench-noisy-"
PASSWORD = "bench-pass-123"


def prepare() -> dict[str, Any]:
    """Provision the two tenants in this process; return the quiet one's host and token, the noisy spec."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from routers import tenant_context
    from tenants import provisioning, selectors, services

    call_command("migrate", verbosity=0)
    services.servers_sync()
    cleanup()
    specs = {}
    for role in ("quiet", "noisy"):
        tenant, _ = services.tenant_create(slug=f"{PREFIX}{role}", name=role, admin_email=f"o@{role}.test",
                                           admin_password=PASSWORD, server="b", enqueue=False)
        job = selectors.latest_job(tenant=tenant)
        assert job is not None and provisioning.job_run(job_id=job.pk) == "done"
        tenant.refresh_from_db()
        specs[role] = selectors.tenant_spec(tenant)
    with tenant_context(specs["quiet"]):
        token = Token.objects.get_or_create(user=User.objects.get(username="o@quiet.test"))[0].key
    return {"host": f"{PREFIX}quiet.localhost", "token": token, "noisy": specs["noisy"]}


def cleanup() -> None:
    from bench.provisioning import cleanup as drop_tenants
    from tenants import pooler
    from tenants.models import Tenant

    Tenant.objects.using("default").filter(slug__startswith=PREFIX).update(status="deleting")
    drop_tenants(PREFIX)
    pooler.pooler_config_refresh(server="b")


def reads(port: int, world: dict[str, Any], count: int) -> list[float]:
    """Return the seconds of `count` sequential `GET /api/me/` of the quiet tenant (all must be 200)."""
    headers = {"Host": world["host"], "Authorization": f"Token {world['token']}"}
    times = []
    for _ in range(count):
        status, seconds = call(port, "GET", "/api/me/", headers=headers)
        assert status == 200, status
        times.append(seconds)
    return times


def noisy_load(spec: Any, threads: int, sleep_ms: int, stop: threading.Event) -> dict[str, int]:
    """Start `threads` slow-query loops on the noisy tenant's pooled connections until `stop`."""
    from django.db import connections

    from routers import tenant_context

    counts = {"queries": 0, "errors": 0}

    def loop() -> None:
        with tenant_context(spec):
            while not stop.is_set():
                try:
                    with connections[spec.alias].cursor() as cursor:
                        cursor.execute("SELECT pg_sleep(%s)", [sleep_ms / 1000])
                    counts["queries"] += 1
                except Exception:
                    counts["errors"] += 1
                    stop.wait(0.01)  # a refused login fails at once: do not spin
        connections.close_all()

    for _ in range(threads):
        threading.Thread(target=loop, daemon=True).start()
    return counts


def backends_sampler(database: str, stop: threading.Event) -> list[int]:
    """Sample the noisy database's client backends every 50 ms until `stop`; return the live list."""
    from core.dbservers import configured_servers

    samples: list[int] = []

    def sample() -> None:
        conn = configured_servers()["b"].connect("postgres", application_name="tessera-bench-sampler")
        try:
            with conn.cursor() as cursor:
                while not stop.wait(0.05):
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                   "AND backend_type = 'client backend'", [database])
                    samples.append(int(cursor.fetchone()[0]))
        finally:
            conn.close()

    threading.Thread(target=sample, daemon=True).start()
    return samples


def measure(port: int, world: dict[str, Any], sizes: dict[str, int]) -> dict[str, Any]:
    from core.plans import plan_limits
    from tenants.limits import connection_limit

    reads(port, world, 20)  # warm the workers' connections and caches
    idle = reads(port, world, sizes["reads"])
    stop = threading.Event()
    counts = noisy_load(world["noisy"], sizes["noisy_threads"], sizes["sleep_ms"], stop)
    samples = backends_sampler(world["noisy"].database, stop)
    time.sleep(1.0)  # let the noisy tenant fill its pool before measuring
    try:
        busy = reads(port, world, sizes["reads"])
    finally:
        stop.set()
    return {"quiet_idle_p50_s": statistics.median(idle), "quiet_idle_p99_s": percentile(idle, 0.99),
            "quiet_noisy_p50_s": statistics.median(busy), "quiet_noisy_p99_s": percentile(busy, 0.99),
            "noisy_over_idle_p99": percentile(busy, 0.99) / percentile(idle, 0.99),
            "noisy_backends_max": max(samples, default=0), "noisy_pool": plan_limits("free").connections,
            "noisy_connection_limit": connection_limit("free"), "noisy_queries": counts["queries"],
            "noisy_errors": counts["errors"]}


def without_pool(world: dict[str, Any], sizes: dict[str, int]) -> dict[str, Any]:
    """Run the noisy load once more with no per-database pool and `CONNECTION LIMIT` = the plan's connections.

    The comparison behind the design: the tenant's line is left out of the
    pooler's include file (it gets the pooler's default pool) and the database
    alone enforces the limit, so the pooler's server logins past it fail.
    """
    from pathlib import Path

    from django.conf import settings
    from psycopg2 import sql

    from core.plans import plan_limits
    from tenants import dbops, pooler

    spec, path = world["noisy"], Path(settings.PGBOUNCER_DATABASES_FILES["b"])
    text = pooler.databases_section("b")
    pooler.write_atomically(path, "".join(line + "\n" for line in text.splitlines()
                                          if not line.startswith(spec.database + " ")))
    pooler.pooler_reload(configured_b(), configured_b().pooler, user=settings.PGBOUNCER_ADMIN_USER,
                         password=settings.PGBOUNCER_ADMIN_PASSWORD)
    dbops.execute_all("b", [sql.SQL("ALTER DATABASE {} CONNECTION LIMIT {}").format(
        sql.Identifier(spec.database), sql.Literal(plan_limits("free").connections))])
    stop = threading.Event()
    counts = noisy_load(spec, sizes["noisy_threads"], sizes["sleep_ms"], stop)
    samples = backends_sampler(spec.database, stop)
    time.sleep(3.0)
    stop.set()
    time.sleep(sizes["sleep_ms"] / 1000 + 0.5)  # let the loops see `stop`
    return {"limit_only_backends_max": max(samples, default=0), "limit_only_queries": counts["queries"],
            "limit_only_errors": counts["errors"]}


def configured_b() -> Any:
    from core.dbservers import configured_servers

    return configured_servers()["b"]


def main() -> None:
    _, sizes = sized_options(FULL, QUICK)
    setup_django("bench.noisy_settings")
    world = prepare()
    server = Server("noisy", "bench.noisy_settings", server_port(10), sizes["workers"], sizes["threads"])
    server.start()
    try:
        result = measure(server.port, world, sizes)
        result.update(without_pool(world, sizes))
    finally:
        server.stop()
        cleanup()
    rows = [("quiet tenant GET /api/me/ p50, noisy idle", f"{result['quiet_idle_p50_s'] * 1000:.1f}"),
            ("... p99, noisy idle", f"{result['quiet_idle_p99_s'] * 1000:.1f}"),
            (f"... p50, noisy running {sizes['noisy_threads']} slow-query loops",
             f"{result['quiet_noisy_p50_s'] * 1000:.1f}"),
            ("... p99, noisy running", f"{result['quiet_noisy_p99_s'] * 1000:.1f}"),
            ("noisy / idle (p99), target <= 1.5x", f"{result['noisy_over_idle_p99']:.2f}x"),
            ("noisy tenant's backends, max seen", str(result["noisy_backends_max"])),
            ("its plan's pool / CONNECTION LIMIT", f"{result['noisy_pool']} / {result['noisy_connection_limit']}"),
            ("noisy slow queries done / errors", f"{result['noisy_queries']} / {result['noisy_errors']}"),
            ("no pool, CONNECTION LIMIT only: backends max", str(result["limit_only_backends_max"])),
            ("... slow queries done / errors",
             f"{result['limit_only_queries']} / {result['limit_only_errors']}")]
    print_table("Noisy neighbour on one server (ms)", rows, ("measure", "value"))
    print(f"\nwritten {write_result('noisy_neighbour', {'sizes': sizes, **result})}")


if __name__ == "__main__":
    main()
