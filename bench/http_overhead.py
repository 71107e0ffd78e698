"""Tenancy overhead over HTTP: `GET /api/tasks/<id>/` with tenancy on, off, and on django-tenants.

Three gunicorn servers run side by side, same config, workers and threads:

* `on`: Tessera as shipped: tenant middleware (Host -> tenant), router,
  read-your-writes, reads from the replica through its PgBouncer;
* `off`: the same views and models on one database with no tenant middleware,
  router or key function (bench/contenders/settings_off.py);
* `dt`: the same views and models on django-tenants, schema per tenant
  (bench/peers/django_tenants_app).

Each is seeded with the same rows (bench/seed.py) on PostgreSQL server a and
answers the same request (checked before the load). wrk then loads them in
turn for the same duration and connections, several rounds in a rotating
order so drift on a shared machine hits all alike. Reported: median req/s and
p50/p99 latency over the rounds, and the ratios on/off and on/django-tenants.

    python -m bench.http_overhead [--quick] [--rounds 5] [--seconds 15]     (services up)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import load
from bench.common import ROOT, print_table, setup_django, sized_options, write_result
from bench.stack import Server, server_port

CONTENDERS = {
    "on": ("Tessera, tenancy on", "bench.contenders.settings_on"),
    "off": ("same app, tenancy off", "bench.contenders.settings_off"),
    "dt": ("django-tenants", "bench.peers.django_tenants_app.settings"),
}
FULL = {"projects": 20, "tasks": 50, "workers": 2, "threads": 4, "connections": 16, "wrk_threads": 2,
        "seconds": 15.0, "warmup": 3.0, "rounds": 5}
QUICK = {"projects": 2, "tasks": 5, "workers": 1, "threads": 2, "connections": 4, "wrk_threads": 1,
         "seconds": 1.0, "warmup": 1.0, "rounds": 1}


def contender_command(name: str, *args: str) -> str:
    """Run bench.contenders.prepare for `name` under its own settings; return its output."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": CONTENDERS[name][1], "BENCH_DIRECT": "1"}
    proc = subprocess.run([sys.executable, "-m", "bench.contenders.prepare", name, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"preparing {name} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def prepare_all(projects: int, tasks: int) -> dict[str, Any]:
    """Seed every contender; return the (identical) target description."""
    seen = {name: json.loads(contender_command(name, "--projects", str(projects), "--tasks", str(tasks))
                              .strip().splitlines()[-1]) for name in CONTENDERS}
    first = seen["on"]
    if any(data != first for data in seen.values()):
        raise RuntimeError(f"contenders were seeded differently: {seen}")
    return first


def check_same_answers(servers: dict[str, Server], data: dict[str, Any]) -> None:
    """Fail unless every contender answers the first task with the same fields and title."""
    headers = {"Host": str(data["host"]), "Authorization": f"Token {data['token']}"}
    path = f"/api/tasks/{data['task_ids'][0]}/"
    answers = {name: server.get(path, headers) for name, server in servers.items()}
    shapes = {}
    for name, (status, body) in answers.items():
        if status != 200 or not isinstance(body, dict):
            raise RuntimeError(f"{name} answered {status}: {body}")
        shapes[name] = (sorted(body), body["title"])
    if len(set(map(repr, shapes.values()))) != 1:
        raise RuntimeError(f"contenders answer differently: {shapes}")


def measure(servers: dict[str, Server], script: Path, opts: dict[str, float]) -> dict[str, list[load.LoadResult]]:
    """Warm every server up, then run `rounds` rounds, rotating the order each round."""
    def run(server: Server, seconds: float) -> load.LoadResult:
        result = load.run_wrk(server.url, script, seconds=seconds,
                              connections=int(opts["connections"]), threads=int(opts["wrk_threads"]))
        if result.non_2xx or result.socket_errors:
            raise RuntimeError(f"{server.name}: {result.non_2xx} non-2xx, {result.socket_errors} socket errors")
        return result

    for server in servers.values():
        run(server, opts["warmup"])
    names = list(servers)
    samples: dict[str, list[load.LoadResult]] = {name: [] for name in names}
    for round_no in range(int(opts["rounds"])):
        for name in names[round_no % len(names):] + names[:round_no % len(names)]:
            samples[name].append(run(servers[name], opts["seconds"]))
            print(f"  round {round_no + 1} {name}: {samples[name][-1].rps:.0f} req/s", flush=True)
    return samples


def tenancy_on_database() -> str:
    from django.conf import settings

    from bench.contenders.prepare import SLUG
    from routers.spec import database_name_for

    return database_name_for(SLUG, settings.TENANT_DB_NAME_PREFIX)


def pooler_server_connections(database: str) -> dict[str, int]:
    """Return the server connections server a's PgBouncers (primary, replicas) hold for `database`.

    Idle ones stay for `server_idle_timeout`, so right after the load this
    shows which of them served it (SHOW STATS totals only move every
    `stats_period`, too slowly for short runs).
    """
    from bench.stack import pgbouncer_rows
    from core.dbservers import configured_servers

    config = configured_servers()["a"]
    poolers = {"primary": config.pooler, **{f"replica{i or ''}": e for i, e in enumerate(config.replica_poolers)}}
    return {role: sum(int(row[key]) for row in pgbouncer_rows(config, endpoint, "SHOW POOLS")
                      if row["database"] == database for key in row if str(key).startswith("sv_"))
            for role, endpoint in poolers.items() if endpoint}


def summarise(samples: list[load.LoadResult]) -> dict[str, float]:
    return {"rps": statistics.median(s.rps for s in samples),
            "p50_ms": statistics.median(s.p50_ms for s in samples),
            "p99_ms": statistics.median(s.p99_ms for s in samples),
            "requests": sum(s.requests for s in samples)}


def report(results: dict[str, dict[str, Any]], opts: dict[str, Any]) -> None:
    off, dt = results["off"], results["dt"]
    ratios = {"on_over_off_rps": results["on"]["rps"] / off["rps"],
              "on_over_off_p50": results["on"]["p50_ms"] / off["p50_ms"],
              "on_over_dt_rps": results["on"]["rps"] / dt["rps"],
              "on_over_dt_p50": results["on"]["p50_ms"] / dt["p50_ms"]}
    rows = [(CONTENDERS[name][0], f"{r['rps']:.0f}", f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}",
             f"{r['rps'] / off['rps']:.3f}") for name, r in results.items()]
    rows.append(("on / off", f"{ratios['on_over_off_rps']:.3f}x", f"{ratios['on_over_off_p50']:.3f}x", "", ""))
    rows.append(("on / django-tenants", f"{ratios['on_over_dt_rps']:.3f}x", f"{ratios['on_over_dt_p50']:.3f}x",
                 "", ""))
    print_table(f"GET /api/tasks/<id>/ over HTTP: median of {int(opts['rounds'])} rounds of {opts['seconds']:.0f} s, "
                f"{int(opts['connections'])} connections, gunicorn {int(opts['workers'])}x{int(opts['threads'])}",
                rows, ("contender", "req/s", "p50 ms", "p99 ms", "req/s vs off"))
    print(f"\ntenancy on, PgBouncer server connections after the load: {results['on']['pgbouncer_server_connections']} "
          "(tokens are read on the primary, tasks on the replica)")
    path = write_result("http_overhead", {"options": opts, "results": results, "ratios": ratios})
    print(f"\nwritten {path}")


def main() -> None:
    _, opts = sized_options(FULL, QUICK)
    setup_django("bench.contenders.settings_on")  # this process only reads PgBouncer statistics
    load.ensure_wrk()
    data = prepare_all(int(opts["projects"]), int(opts["tasks"]))
    servers = {name: Server(name, settings, server_port(index), int(opts["workers"]), int(opts["threads"]))
               for index, (name, (_, settings)) in enumerate(CONTENDERS.items())}
    try:
        for server in servers.values():
            server.start()
        check_same_answers(servers, data)
        with load.scratch_dir() as scratch:
            targets = [(str(data["host"]), f"/api/tasks/{pk}/") for pk in data["task_ids"]]
            script = load.write_script(targets, str(data["token"]), Path(scratch))
            samples = measure(servers, script, opts)
            used = pooler_server_connections(tenancy_on_database())
    finally:
        for server in servers.values():
            server.stop()
        for name in CONTENDERS:
            contender_command(name, "--drop")
    results = {name: {**summarise(rounds), "label": CONTENDERS[name][0]} for name, rounds in samples.items()}
    results["on"]["pgbouncer_server_connections"] = used
    report(results, opts)


if __name__ == "__main__":
    main()
