"""Scale: 2,000 tenant databases on one server (b): provisioning, a hot set, memory, fleet migrations.

One run, in this order, on a control plane of its own (`bench.scale_settings`):

1. **Fleet.** `--tenants` databases cloned from the template on server b
   (set-up, not timed as a result: a few threads of `CREATE DATABASE ...
   TEMPLATE`), their control-plane rows bulk-inserted; plus `--sample` more
   for the loop baseline, which `migrate_tenants` is told to exclude.
2. **Memory and disk** of each PostgreSQL server (RSS and PSS of the
   postmaster and its children; database sizes), idle with the fleet in place.
3. **migrate_tenants** over the fleet, a fresh process each, Django start-up
   included: a first no-op (it reads every fresh clone and stamps it), the
   steady no-op (target < 5 s), then one migration (`fleetapp` 0002).
4. **Sequential loop** (`bench.fleet_loop`, Django's `migrate --database` per
   database) over the sample, extrapolated linearly to the fleet size (its
   Django start-up counted once) and said so; target: >= 8x slower than ours.
5. **Hot set.** Real gunicorn (production config) serving `GET /api/projects/`
   for `--hot` random tenants of the fleet under wrk for `--seconds`; req/s,
   errors, latency, and the servers' memory at the peak of the load.
6. **Provisioning burst.** `--burst` `POST /api/platform/tenants/` through
   that gunicorn, a real Celery worker provisioning them; tenants per second
   from the first request until all are active.

Everything the run created is dropped at the end. Writes `bench/results/scale.json`.

    python -m bench.scale [--quick] [--tenants 2000] [--burst 200] [--hot 200] [--sample 100]    (services up)
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import load
from bench.commands import startup_seconds, timed_command
from bench.common import ROOT, print_table, setup_django, sized_options, write_result
from bench.stack import Server, server_port

SETTINGS = "bench.scale_settings"
SERVER = "b"
QUEUE = "tessera-bench-scale"
FULL = {"tenants": 2000, "sample": 100, "burst": 200, "hot": 200, "parallel": 8, "seconds": 20.0,
        "connections": 16, "workers": 2, "threads": 4, "clients": 8}
QUICK = {"tenants": 20, "sample": 5, "burst": 5, "hot": 5, "parallel": 4, "seconds": 2.0,
         "connections": 4, "workers": 1, "threads": 2, "clients": 2}


def migrate_tenants(version: str, parallel: int, exclude: list[str]) -> float:
    """Time `manage.py migrate_tenants` over the fleet at migration set `version`; fail unless it is done."""
    from migrations_tooling.models import MigrationRun

    args = ["manage.py", "migrate_tenants", "--parallel", str(parallel), "--exclude", ",".join(exclude)]
    elapsed, _ = timed_command(args, settings=SETTINGS, env={"BENCH_FLEET_MIGRATIONS": version})
    run = MigrationRun.objects.order_by("-pk").first()
    if run is None or run.status != "done":
        raise RuntimeError(f"migrate_tenants ended {run and run.status}: {run and run.error}")
    return elapsed


def memory_everywhere() -> dict[str, dict[str, float]]:
    from bench.scale_world import server_memory

    return {name: server_memory(name) for name in ("a", "b")}


class PeakMemory(threading.Thread):
    """Sample server b's memory while a load runs; keep the largest PSS seen."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak: dict[str, float] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        from bench.scale_world import server_memory

        while not self.stopped.wait(0.5):
            sample = server_memory(SERVER)
            if sample["pss_mib"] > self.peak.get("pss_mib", 0):
                self.peak = sample


def serve_hot_set(server: Server, hot: list[str], opts: dict[str, Any]) -> dict[str, Any]:
    """Load `hot` tenants' API through gunicorn; return wrk's figures and the peak memory."""
    from bench.scale_world import TOKEN, seed_token

    for slug in hot:
        seed_token(slug, SERVER)
    targets = [(f"{slug}.localhost", "/api/projects/") for slug in hot]
    status, _ = server.get("/api/projects/", {"Host": targets[0][0], "Authorization": f"Token {TOKEN}"})
    if status != 200:
        raise RuntimeError(f"hot tenant answered {status}")
    with load.scratch_dir() as directory:
        script = load.write_script(targets, TOKEN, Path(directory))
        load.run_wrk(server.url, script, seconds=2, connections=int(opts["connections"]), threads=2)  # warm-up
        sampler = PeakMemory()
        sampler.start()
        result = load.run_wrk(server.url, script, seconds=float(opts["seconds"]),
                              connections=int(opts["connections"]), threads=2)
        sampler.stopped.set()
        sampler.join()
    return {"rps": result.rps, "requests": result.requests, "non_2xx": result.non_2xx,
            "socket_errors": result.socket_errors, "p50_ms": result.p50_ms, "p99_ms": result.p99_ms,
            "peak_memory_b": sampler.peak}


def start_worker(concurrency: int) -> subprocess.Popen[bytes]:
    """Start a Celery worker on the bench queue under the scale settings; return once it answers a ping."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "BENCH_FLEET_MIGRATIONS": "v2", "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "core", "worker", "-Q", QUEUE,
                             f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
                             "--loglevel=WARNING", "-n", "bench-scale@%h"], cwd=ROOT, env=env, start_new_session=True)
    from core.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(name.startswith("bench-scale@") for r in app.control.ping(timeout=0.5) or [] for name in r):
            return proc
    proc.terminate()
    raise RuntimeError("bench worker did not start")


def platform_token() -> str:
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    admin, _ = User.objects.get_or_create(username="scale-admin", defaults={"is_staff": True, "is_superuser": True})
    return Token.objects.get_or_create(user=admin)[0].key


def post_tenant(server: Server, token: str, slug: str) -> float:
    """Create `slug` through the platform API; return the request's seconds (fail unless 202)."""
    body = json.dumps({"slug": slug, "name": slug, "admin_email": f"o@{slug}.test",
                       "admin_password": "bench-pass-1", "server": SERVER}).encode()
    request = urllib.request.Request(f"{server.url}/api/platform/tenants/", data=body, method="POST", headers={
        "Authorization": f"Token {token}", "Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        if response.status != 202:
            raise RuntimeError(f"POST {slug} answered {response.status}")
    return time.perf_counter() - started


def provisioning_burst(server: Server, count: int, clients: int) -> dict[str, Any]:
    """POST `count` tenants from `clients` threads; time from the first request until all are active."""
    from tenants.models import Tenant

    token, slugs = platform_token(), [f"scale-api-{i:04d}" for i in range(count)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        requests = list(pool.map(lambda slug: post_tenant(server, token, slug), slugs))
    accepted = time.perf_counter() - started
    deadline = time.monotonic() + 600
    rows = Tenant.objects.using("default").filter(slug__in=slugs)
    while rows.exclude(status__in=("active", "failed")).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("provisioning burst did not finish in 600 s")
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    failed = rows.filter(status="failed").count()
    return {"tenants": count, "failed": failed, "seconds": elapsed, "accepted_s": accepted,
            "tenants_per_s": (count - failed) / elapsed, "post_p50_ms": statistics.median(requests) * 1000}


def served(opts: dict[str, Any], fleet: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start gunicorn and a worker; measure the hot set, then the provisioning burst."""
    server = Server("scale", SETTINGS, server_port(3), int(opts["workers"]), int(opts["threads"]),
                    env={"BENCH_FLEET_MIGRATIONS": "v2"})
    worker = start_worker(2)
    server.start()
    try:
        hot = serve_hot_set(server, random.Random(7).sample(fleet, int(opts["hot"])), opts)
        burst = provisioning_burst(server, int(opts["burst"]), int(opts["clients"]))
    finally:
        server.stop()
        worker.terminate()
        worker.wait(30)
    return hot, burst


def main() -> None:
    _, opts = sized_options(FULL, QUICK)
    setup_django(SETTINGS)
    from bench import world
    from bench.fleet import ensure_templates, switch_to
    from bench.scale_world import fleet_create, fleet_drop, server_disk

    world.recreate_control()
    switch_to("v1")
    ensure_templates()  # every server's: a run would otherwise rebuild a missing one inside the timing
    count, size = int(opts["tenants"]), int(opts["sample"])
    fleet = [f"scale-{i:05d}" for i in range(count)]
    sample = [f"scale-loop-{i:04d}" for i in range(size)]
    figures: dict[str, Any] = {"memory_before": memory_everywhere()}
    try:
        created = time.perf_counter()
        fleet_create(fleet + sample, SERVER)
        figures["clone_per_s"] = (count + size) / (time.perf_counter() - created)
        figures["memory_idle"], figures["disk"] = memory_everywhere(), server_disk(SERVER)
        # The first run after bulk cloning reads every database and stamps it; the steady state reads stamps.
        figures["noop_first_s"] = migrate_tenants("v1", int(opts["parallel"]), sample)
        figures["noop_s"] = migrate_tenants("v1", int(opts["parallel"]), sample)
        figures["one_s"] = migrate_tenants("v2", int(opts["parallel"]), sample)
        figures["startup_s"] = startup_seconds(SETTINGS)
        loop_s, _ = timed_command(["-m", "bench.fleet_loop", ",".join(sample)], settings=SETTINGS,
                                  env={"BENCH_FLEET_MIGRATIONS": "v2"})
        figures["loop_sample_s"] = loop_s
        figures["loop_extrapolated_s"] = figures["startup_s"] + (loop_s - figures["startup_s"]) * count / size
        figures["loop_over_ours"] = figures["loop_extrapolated_s"] / figures["one_s"]
        switch_to("v2")
        figures["hot"], figures["burst"] = served(opts, fleet)
    finally:
        figures["dropped"] = fleet_drop(SERVER)
    report(figures, opts)


def report(f: dict[str, Any], opts: dict[str, Any]) -> None:
    count, size = int(opts["tenants"]), int(opts["sample"])
    hot, burst, disk = f["hot"], f["burst"], f["disk"]
    rows = [
        ("no-op migrate_tenants, first after cloning", f"{count} databases, none stamped yet",
         f"{f['noop_first_s']:.2f} s", ""),
        ("no-op migrate_tenants", f"{count} databases, stamped", f"{f['noop_s']:.2f} s", "< 5 s"),
        ("one migration, migrate_tenants", f"{count} databases, --parallel {opts['parallel']}", f"{f['one_s']:.2f} s",
         ""),
        ("one migration, sequential loop", f"measured on {size}, extrapolated linearly to {count}",
         f"{f['loop_extrapolated_s']:.1f} s (sample {f['loop_sample_s']:.2f} s)", ""),
        ("loop / migrate_tenants", "", f"{f['loop_over_ours']:.1f}x", ">= 8x"),
        ("provisioning burst", f"{burst['tenants']} POSTs, {opts['clients']} clients, 202 -> all active",
         f"{burst['tenants_per_s']:.1f} tenants/s ({burst['seconds']:.1f} s, {burst['failed']} failed)", ""),
        ("hot set", f"{opts['hot']} of {count} tenants, {opts['seconds']:.0f} s, {opts['connections']} connections",
         f"{hot['rps']:.0f} req/s, {hot['non_2xx'] + hot['socket_errors']} errors, p99 {hot['p99_ms']:.0f} ms", ""),
        ("server b memory, idle", f"{count + size} tenant databases",
         f"PSS {f['memory_idle']['b']['pss_mib']:.0f} MiB (RSS sum {f['memory_idle']['b']['rss_mib']:.0f} MiB, "
         f"{f['memory_idle']['b']['processes']} processes)", ""),
        ("server b memory, hot-set peak", "",
         f"PSS {hot['peak_memory_b'].get('pss_mib', 0):.0f} MiB ({hot['peak_memory_b'].get('processes', 0)} processes)",
         ""),
        ("server b disk", f"{disk['databases']} tenant databases",
         f"{disk['tenant_databases_mib']:.0f} MiB ({disk['per_database_mib']:.1f} MiB each)", ""),
    ]
    print_table(f"Scale on server {SERVER}", rows, ("figure", "over", "result", "target"))
    print(f"\nThe loop was measured on {size} databases and extrapolated linearly to {count} "
          f"(its Django start-up, {f['startup_s']:.2f} s, counted once).")
    print(f"\nwritten {write_result('scale', {'options': opts, **f})}")


if __name__ == "__main__":
    main()
