"""The long tail: the same request mix spread over 1, 100 and 1,000 tenants on one server.

Three gunicorn servers side by side (the contenders of `http_overhead`, same
config, workers and threads, all on PostgreSQL server a):

* `on`: Tessera, one database per tenant (copies of one seeded database);
* `dt`: django-tenants, one schema per tenant in one database (copies of one
  seeded schema, made by `bench/peers/spread.py`: its own `clone_schema`
  does not scale to hundreds of schemas);
* `off`: the same app on one database, no tenancy (the spread changes only
  the Host header it ignores).

For each size, wrk sends 80 % `GET /api/tasks/<id>/` and 20 % `PATCH` of the
title (token auth) to a random tenant and task, several rounds in a rotating
order. While Tessera runs, the server connections to its tenant databases
on server a's primary and replica are sampled (`pg_stat_activity`, and
which of them the pooler holds, `SHOW SERVERS`) every 0.25 s, and each round
records the machine's CPU per request and the kernel threads' share of it
(`bench/cpu.py`). Written to `bench/results/tenant_spread.json`, with the
top-level figures `ratio_spread_vs_one`, `ratio_vs_django_tenants`,
`max_server_connections`, `server_connection_cap` and `errors`.

    python -m bench.tenant_spread [--quick] [--sizes 1,100,1000] [--rounds 5]     (services up)
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from bench import cpu, load
from bench.common import print_table, setup_django, sized_options, write_result
from bench.http_overhead import CONTENDERS, contender_command
from bench.stack import Server, server_port

WRITE_SHARE = 0.2
# Five rounds: on this machine the CPU a request takes moves by up to a third from one 10 s round to
# the next, for every contender alike (the host's other tenants); the median of five holds better.
FULL = {"sizes": "1,100,1000", "tasks": 5, "workers": 2, "threads": 4, "connections": 16, "wrk_threads": 2,
        "seconds": 10.0, "warmup": 3.0, "warmup_per_tenant": 0.1, "warmup_max_per_tenant": 0.6,
        "warmup_chunk": 10.0, "rounds": 5}
QUICK = {"sizes": "1,4", "tasks": 3, "workers": 1, "threads": 2, "connections": 4, "wrk_threads": 1,
         "seconds": 1.0, "warmup": 1.0, "warmup_per_tenant": 0.0, "warmup_max_per_tenant": 0.0,
         "warmup_chunk": 1.0, "rounds": 1}
# Tessera's warm-up ends when a chunk added fewer pooler client connections than this share of the
# tenants: every worker then holds a connection per hot tenant and kind (primary, replica).
SETTLED_SHARE = 0.01


def prepare(size: int, tasks: int) -> tuple[list[str], list[int], str]:
    """Seed every contender with `size` tenants; return the hosts, task ids and token."""
    from bench.contenders.prepare import HOST, spread_slugs

    args = ["--projects", "1", "--tasks", str(tasks), "--tenants", str(size if size > 1 else 0)]
    seen = {name: json.loads(contender_command(name, *args).strip().splitlines()[-1]) for name in CONTENDERS}
    if any(data != seen["on"] for data in seen.values()):
        raise RuntimeError(f"contenders were seeded differently: {seen}")
    hosts = [HOST] if size == 1 else [f"{slug}.localhost" for slug in spread_slugs(size)]
    return hosts, seen["on"]["task_ids"], seen["on"]["token"]


def check_answers(servers: dict[str, Server], host: str, task_id: int, token: str) -> None:
    """Fail unless every contender serves a read and accepts a write of the same task."""
    import urllib.request

    headers = {"Host": host, "Authorization": f"Token {token}", "Content-Type": "application/json"}
    for name, server in servers.items():
        status, _ = server.get(f"/api/tasks/{task_id}/", headers)
        request = urllib.request.Request(f"{server.url}/api/tasks/{task_id}/", data=b'{"title": "checked"}',
                                         headers=headers, method="PATCH")
        with urllib.request.urlopen(request, timeout=30) as response:
            written = response.status
        if (status, written) != (200, 200):
            raise RuntimeError(f"{name} answered GET {status}, PATCH {written}")


def server_connections() -> dict[str, int]:
    """Return the server connections to Tessera's tenant databases on server a (primary or replica,
    the larger): the backends PostgreSQL lists, and those of them its pooler no longer holds.

    PgBouncer's cap counts the connections it holds. A connection it closes (an idle one of
    another database, evicted at the cap) is still a backend until that process has exited, and
    the pooler opens the new one meanwhile: those are the `unpooled` ones (a direct connection
    to a tenant database would be one too).
    """
    import psycopg2
    from django.conf import settings

    from bench.stack import pgbouncer_rows
    from core.dbservers import configured_servers

    config = configured_servers()["a"]
    prefix = settings.TENANT_DB_NAME_PREFIX
    seen = {"backends": 0, "unpooled": 0}
    replica_poolers = config.replica_poolers or (None,) * len(config.replicas)  # poolers are optional
    for endpoint, pooler in zip((config.primary, *config.replicas), (config.pooler, *replica_poolers), strict=True):
        conn = psycopg2.connect(host=endpoint.host, port=endpoint.port, user=config.user,
                                password=config.password, dbname="postgres")
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT client_port FROM pg_stat_activity WHERE starts_with(datname, %s)", [prefix])
                ports = [row[0] for row in cursor.fetchall()]
        finally:
            conn.close()
        held = {row["local_port"] for row in pgbouncer_rows(config, pooler, "SHOW SERVERS")} if pooler else set()
        unpooled = sum(1 for port in ports if port not in held)
        if len(ports) > seen["backends"]:
            seen = {"backends": len(ports), "unpooled": unpooled}
    return seen


def watch_peak(peak: dict[str, int], seen: dict[str, int]) -> None:
    """Keep in `peak` the most backends seen, the most of them the pooler held, and the most it did not."""
    peak["backends"] = max(peak.get("backends", 0), seen["backends"])
    peak["pooled"] = max(peak.get("pooled", 0), seen["backends"] - seen["unpooled"])
    peak["unpooled"] = max(peak.get("unpooled", 0), seen["unpooled"])


def run_size(size: int, opts: dict[str, Any]) -> dict[str, Any]:
    """Serve `size` tenants with every contender; return per-contender medians, errors and peaks."""
    hosts, task_ids, token = prepare(size, int(opts["tasks"]))
    servers = {name: Server(f"spread-{name}", settings, server_port(index), int(opts["workers"]),
                            int(opts["threads"])) for index, (name, (_, settings)) in enumerate(CONTENDERS.items())}
    samples: dict[str, list[load.LoadResult]] = {name: [] for name in servers}
    peak: dict[str, int] = {}
    memory: dict[str, dict[str, float]] = {}
    spent: dict[str, list[dict[str, object]]] = {name: [] for name in servers}
    settled: dict[str, Any] = {}
    try:
        for server in servers.values():
            start(server)
        check_answers(servers, hosts[0], task_ids[0], token)
        with load.scratch_dir() as scratch:
            targets = [(host, f"/api/tasks/{pk}/") for host in hosts for pk in task_ids]
            script = load.write_script(targets, token, Path(scratch), write_share=WRITE_SHARE)
            names = list(servers)
            # The warm-up serves every tenant a few times (a steady state: in production the hot set was
            # served before); its rate is kept as the cold figure.
            warmup = max(float(opts["warmup"]), float(opts["warmup_per_tenant"]) * size)
            for name in names:
                if name == "on":
                    result, settled = warm_until_settled(servers[name], script, opts, size, warmup, peak)
                else:
                    result = wrk(servers[name], script, opts, warmup, None)
                samples[name].append(result)
                print(f"  {size} tenants, warm-up {name}: {result.rps:.0f} req/s over {result.seconds:.0f} s",
                      flush=True)
            for round_no in range(int(opts["rounds"])):
                for name in names[round_no % 3:] + names[:round_no % 3]:
                    workers = servers[name].worker_pids()
                    before = cpu.snapshot(workers=workers)
                    samples[name].append(wrk(servers[name], script, opts, opts["seconds"],
                                             peak if name == "on" else None))
                    spent[name].append(cpu.per_request(before, cpu.snapshot(workers=workers),
                                                       samples[name][-1].requests))
                    if name == "on":
                        memory = most_memory(memory)
                    print(f"  {size} tenants, round {round_no + 1} {name}: {samples[name][-1].rps:.0f} req/s",
                          flush=True)
    finally:
        for server in servers.values():
            server.stop()
        for name in CONTENDERS:
            contender_command(name, "--drop")
    return {"max_server_connections": peak.get("backends", 0), "max_pooled_server_connections": peak.get("pooled", 0),
            "max_unpooled_backends": peak.get("unpooled", 0), "server_memory": memory, "warmup_on": settled,
            **{name: {**summarise(rounds), **cpu_summary(rounds[1:], spent[name])} for name, rounds in samples.items()}}


def pooler_clients() -> int:
    """Return the client connections Tessera's workers hold to its tenant databases on server a's poolers."""
    from django.conf import settings

    from bench.stack import pgbouncer_rows
    from core.dbservers import configured_servers

    config = configured_servers()["a"]
    poolers = [endpoint for endpoint in (config.pooler, *config.replica_poolers) if endpoint]
    return sum(1 for endpoint in poolers for row in pgbouncer_rows(config, endpoint, "SHOW CLIENTS")
               if str(row["database"]).startswith(settings.TENANT_DB_NAME_PREFIX))


def warm_until_settled(server: Server, script: Path, opts: dict[str, Any], size: int, least: float,
                       peak: dict[str, int]) -> tuple[load.LoadResult, dict[str, Any]]:
    """Warm Tessera in chunks until its workers stop logging in to the pooler; return the whole warm-up.

    A worker keeps a client connection per tenant and kind it served, and the
    first visit of a tenant in each worker pays a pooler login. wrk's keep-alive
    connections stay with the worker that accepted them for a run, so the
    warm-up is several runs (each spreads its connections afresh) and ends once
    a chunk added fewer than `SETTLED_SHARE` x size clients, after `least`
    seconds at least and `warmup_max_per_tenant` x size at most.
    """
    chunk, most = float(opts["warmup_chunk"]), max(least, float(opts["warmup_max_per_tenant"]) * size)
    runs: list[load.LoadResult] = []
    clients = pooler_clients()
    spent, added = 0.0, size
    while spent < least or (added >= max(1.0, SETTLED_SHARE * size) and spent < most):
        runs.append(wrk(server, script, opts, min(chunk, most - spent), peak))
        spent += runs[-1].seconds
        before, clients = clients, pooler_clients()
        added = clients - before
    whole = load.LoadResult.combined(runs)
    return whole, {"seconds": round(spent, 1), "chunks": len(runs), "pooler_clients": clients,
                   "last_chunk_added": added, "settled": added < max(1.0, SETTLED_SHARE * size)}


def most_memory(before: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Return the larger, per server, of `before` and the memory server a's primary and replica hold now
    (PSS of the postmaster and every backend, right after a Tessera round)."""
    from bench.scale_world import server_memory
    from infra.local import config

    now = {instance.name: server_memory(instance.name) for instance in (config.PG_A, config.PG_A_REPLICA)}
    return {name: max(now[name], before.get(name, now[name]), key=lambda m: m["pss_mib"]) for name in now}


def start(server: Server, attempts: int = 3) -> None:
    """Start `server`, on a further port when its own is taken (this checkout's ports lie in the
    ephemeral range, so an outgoing connection of the load can hold one for a while)."""
    for attempt in range(attempts):
        try:
            server.start()
            return
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            server.port += 10


def wrk(server: Server, script: Path, opts: dict[str, Any], seconds: float, peak: dict[str, int] | None,
        ) -> load.LoadResult:
    """Run wrk once against `server`; sample the server connections meanwhile when `peak` is given."""
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            watch_peak(peak, server_connections())  # type: ignore[arg-type]
            time.sleep(0.25)

    watcher = threading.Thread(target=watch) if peak is not None else None
    if watcher:
        watcher.start()
    try:
        return load.run_wrk(server.url, script, seconds=seconds, connections=int(opts["connections"]),
                            threads=int(opts["wrk_threads"]))
    finally:
        done.set()
        if watcher:
            watcher.join()


def cpu_summary(results: list[load.LoadResult], rounds: list[dict[str, object]]) -> dict[str, object]:
    """Return the median machine and kernel-thread CPU ms per request of the measured rounds, and
    each round's req/s beside its CPU figures and its busiest worker's share."""
    if not rounds:
        return {}
    return {"cpu_ms_per_request": statistics.median(float(r["cpu_ms"]) for r in rounds),  # type: ignore[arg-type]
            "kernel_threads_ms_per_request": statistics.median(float(r["kernel_threads_ms"])  # type: ignore[arg-type]
                                                               for r in rounds),
            "top_kernel_thread": str(rounds[-1]["top_kernel_thread"]),
            "rounds": [{"rps": round(result.rps, 1), **spent} for result, spent in zip(results, rounds, strict=True)]}


def summarise(rounds: list[load.LoadResult]) -> dict[str, float]:
    measured = rounds[1:]  # the first is the warm-up
    return {"rps": statistics.median(r.rps for r in measured), "cold_rps": rounds[0].rps,
            "p50_ms": statistics.median(r.p50_ms for r in measured),
            "p99_ms": statistics.median(r.p99_ms for r in measured),
            "errors": sum(r.non_2xx + r.socket_errors for r in rounds)}


def report(results: dict[int, dict[str, Any]], opts: dict[str, Any]) -> None:
    from django.conf import settings

    sizes = sorted(results)
    one, many = results[sizes[0]], results[sizes[-1]]
    summary = {
        "ratio_spread_vs_one": many["on"]["rps"] / one["on"]["rps"],
        "ratio_vs_django_tenants": many["on"]["rps"] / many["dt"]["rps"],
        "max_server_connections": max(r["max_server_connections"] for r in results.values()),
        "server_connection_cap": int(settings.TENANT_SERVER_CONNECTIONS_MAX),
        "max_pooled_server_connections": max(r["max_pooled_server_connections"] for r in results.values()),
        "max_unpooled_backends": max(r["max_unpooled_backends"] for r in results.values()),
        "errors": sum(r[name]["errors"] for r in results.values() for name in CONTENDERS),
    }
    rows = [(str(size), CONTENDERS[name][0], f"{r[name]['rps']:.0f}", f"{r[name]['p50_ms']:.1f}",
             f"{r[name]['p99_ms']:.1f}", f"{r[name].get('cpu_ms_per_request', 0):.1f}",
             f"{r[name].get('kernel_threads_ms_per_request', 0):.1f}", str(r[name]["errors"]),
             str(r["max_server_connections"]) if name == "on" else "")
            for size, r in sorted(results.items()) for name in CONTENDERS]
    print_table(f"80/20 read/write spread over N tenants: median of {int(opts['rounds'])} rounds of "
                f"{opts['seconds']:.0f} s, gunicorn {int(opts['workers'])}x{int(opts['threads'])}", rows,
                ("tenants", "contender", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "kthreads ms/req", "errors",
                 "server conns"))
    print("\n" + ", ".join(f"{key} {value:.3f}" if isinstance(value, float) else f"{key} {value}"
                           for key, value in summary.items()))
    path = write_result("tenant_spread", {**summary, "options": opts,
                                          "results": {str(size): r for size, r in results.items()}})
    print(f"written {path}")


def main() -> None:
    _, opts = sized_options(FULL, QUICK, argparse.ArgumentParser(description=__doc__))
    setup_django("bench.contenders.settings_on")  # this process only samples connections
    load.ensure_wrk()
    results = {}
    for size in (int(s) for s in str(opts["sizes"]).split(",")):
        started = time.monotonic()
        results[size] = run_size(size, opts)
        print(f"  {size} tenants done in {time.monotonic() - started:.0f} s", flush=True)
    report(results, opts)


if __name__ == "__main__":
    main()
