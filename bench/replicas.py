"""Replica offload under a 90/10 read/write mix, with read-your-writes checked on every read.

Several tenants on server a (a primary and a streaming replica, each behind
its PgBouncer). Client threads, each with its own Django test client (the
whole middleware stack and router, real databases) and its own tasks:

* a write is `PATCH /api/tasks/<id>/` with a new title, immediately followed
  by a read of that task (one write in ten operations);
* a read is `GET /api/tasks/<id>/` of one of the client's tasks; it must show
  the title the client wrote last, else it is a read-your-writes violation.

Clients carry the read-after token in the `X-Tessera-Read-After` header only
(cookies are dropped), like an API client. Every query on a tenant alias is
counted by role (replica/primary) and kind: product reads, auth reads (the
token lookup, pinned to the primary by design) and writes. A read is *served
by a replica* when all its product queries ran there. The baseline is the same
mix with the replica removed from TENANT_DB_SERVERS (every read on the primary).
Each mode runs in its own process.

Local replication replays in about a millisecond, so stale reads are rare
even without the token. `--replica-delay-ms N` makes the local replica of
server a replay N ms late (`recovery_min_apply_delay`, undone afterwards), and
`--no-token-run` adds a run whose clients drop the token: with a delay, it
shows the violations the token prevents (the check has teeth).

    python -m bench.replicas [--quick] [--ops 4000] [--clients 8] [--tenants 4]
                             [--replica-delay-ms 0] [--no-token-run]     (services up)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.contenders.settings_on"  # never the caller's

SERVER = "a"
PREFIX = "bench-rep-"
HEADER = "X-Tessera-Read-After"
WRITE_BURST = 1 / 9  # a write and its read-back in 1/9 of the steps: 10% of operations are writes
FULL = {"tenants": 4, "clients": 8, "ops": 4000}
QUICK = {"tenants": 2, "clients": 4, "ops": 300}
FIRST_TABLE = re.compile(r'\bFROM\s+"(\w+)"', re.IGNORECASE)


class QueryLog(threading.local):
    """The (role, kind) of every tenant query run by this thread since the last `take()`."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def take(self) -> list[tuple[str, str]]:
        entries, self.entries = self.entries, []
        return entries


LOG = QueryLog()


def kind_of(sql: str) -> str:
    if not sql.lstrip()[:6].upper().startswith("SELECT"):
        return "write"
    if "pg_current_wal_lsn" in sql:
        return "lsn"
    match = FIRST_TABLE.search(sql)
    return "auth" if match and match.group(1).startswith("auth") else "product"


def count_query(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """Execute wrapper: note the role and kind of a query on a tenant alias."""
    alias = context["connection"].alias
    if alias.startswith("tenant:"):
        LOG.entries.append(("replica" if ":replica" in alias else "primary", kind_of(sql)))
    return execute(sql, params, many, context)


def install_counter(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Count the queries of every new database connection (connection_created receiver)."""
    if count_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(count_query)


class MixClient:
    """One API client: a tenant user working on its own tasks."""

    def __init__(self, slug: str, token: str, titles: dict[int, str], seed: int, *, send_token: bool) -> None:
        from django.test import Client

        self.http = Client(HTTP_HOST=f"{slug}.localhost", HTTP_AUTHORIZATION=f"Token {token}")
        self.titles, self.rng, self.read_after = titles, random.Random(seed), ""
        self.send_token = send_token
        self.stats: Counter[str] = Counter()

    def run(self, ops: int) -> None:
        done = 0
        while done < ops:
            pk = self.rng.choice(list(self.titles))
            if self.rng.random() < WRITE_BURST and done + 2 <= ops:
                self.write(pk)
                done += 1
            self.read(pk)
            done += 1

    def write(self, pk: int) -> None:
        title = f"{self.titles[pk].split(' #')[0]} #{self.rng.randrange(10**9)}"
        response = self.http.patch(f"/api/tasks/{pk}/", json.dumps({"title": title}),
                                   content_type="application/json", headers={HEADER: self.read_after})
        self.note(response, "writes")
        if response.status_code == 200:
            self.titles[pk] = title
            if self.send_token:
                self.read_after = response.headers.get(HEADER, self.read_after)

    def read(self, pk: int) -> None:
        response = self.http.get(f"/api/tasks/{pk}/", headers={HEADER: self.read_after})
        queries = self.note(response, "reads")
        if response.status_code != 200:
            return
        if response.json()["title"] != self.titles[pk]:
            self.stats["violations"] += 1
        product = [role for role, kind in queries if kind == "product"]
        self.stats["replica_reads" if product and set(product) == {"replica"} else "primary_reads"] += 1

    def note(self, response: Any, what: str) -> list[tuple[str, str]]:
        self.http.cookies.clear()  # the header alone carries the read-after token
        self.stats[what] += 1
        if response.status_code >= 400:
            self.stats["errors"] += 1
        queries = LOG.take()
        self.stats.update(f"{kind}_on_{role}" for role, kind in queries)
        return queries


def run_mix(ops: int, clients: int, *, send_token: bool) -> dict[str, object]:
    """Run the mix against the bench tenants in this process; return the counts."""
    from django.db import connections
    from django.db.backends.signals import connection_created

    from bench.seed import TOKEN
    from projects.models import Task
    from routers import ensure_registered, tenant_context
    from tenants import selectors
    from tenants.models import Tenant

    connection_created.connect(install_counter)
    specs = [selectors.tenant_spec(t) for t in Tenant.objects.filter(slug__startswith=PREFIX).order_by("slug")]
    mixers = []
    for index in range(clients):
        spec = specs[index % len(specs)]
        ensure_registered(spec)
        with tenant_context(spec):
            rows = Task.objects.using(spec.alias).order_by("id").values_list("id", "title")
            mine = dict(rows[index // len(specs)::-(-clients // len(specs))])
        mixers.append(MixClient(spec.slug, TOKEN, mine, seed=index, send_token=send_token))
    connections.close_all()
    threads = [threading.Thread(target=m.run, args=(ops // clients,)) for m in mixers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total: Counter[str] = Counter()
    for mixer in mixers:
        total.update(mixer.stats)
    return {**dict(total), "seconds": elapsed, "ops_per_s": (total["reads"] + total["writes"]) / elapsed}


def without_replicas(servers: str) -> str:
    """Return `servers` (TENANT_DB_SERVERS) with every replica and replica pooler removed."""
    return ";".join(",".join(part for part in entry.split(",") if not part.strip().startswith(("replicas=",
                    "replica_poolers="))) for entry in servers.split(";"))


def run_mode(mode: str, ops: int, clients: int) -> dict[str, object]:
    """Run the mix in a child process: `replicas` as configured, `primary` without replicas, `no-token`."""
    from django.conf import settings

    env = {**os.environ}
    if mode == "primary":
        env["TENANT_DB_SERVERS"] = without_replicas(settings.TENANT_DB_SERVERS)
    extra = ["--drop-token"] if mode == "no-token" else []
    proc = subprocess.run([sys.executable, "-m", "bench.replicas", "--mix", "--ops", str(ops), "--clients",
                           str(clients), *extra], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"the {mode} mix failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@contextmanager
def replica_apply_delay(ms: int) -> Iterator[None]:
    """Make the local replica of server a replay `ms` milliseconds late, for the duration."""
    from infra.local import config, postgres

    def apply(statement: str) -> None:
        postgres.psql(config.PG_A_REPLICA, statement)
        postgres.psql(config.PG_A_REPLICA, "SELECT pg_reload_conf()")

    if ms:
        apply(f"ALTER SYSTEM SET recovery_min_apply_delay = '{int(ms)}ms'")
    try:
        yield
    finally:
        if ms:
            apply("ALTER SYSTEM RESET recovery_min_apply_delay")


def build_world(tenants: int, clients: int) -> None:
    from bench import world

    world.recreate_control()
    for spec in world.tenants_create([f"{PREFIX}{i:02d}" for i in range(tenants)], SERVER):
        world.tenant_seed(spec, projects=1, tasks_per_project=10 * -(-clients // tenants))
    world.wait_for_replicas(SERVER)


def report(results: dict[str, dict[str, object]], opts: dict[str, int]) -> bool:
    from bench.common import print_table, write_result

    rows = []
    for mode, r in results.items():
        reads = int(r.get("replica_reads", 0)) + int(r.get("primary_reads", 0))
        r["replica_share"] = int(r.get("replica_reads", 0)) / reads if reads else 0.0
        rows.append((mode, str(r["reads"]), str(r["writes"]), f"{100 * r['replica_share']:.1f}%",
                     str(r.get("product_on_replica", 0)), str(r.get("product_on_primary", 0)),
                     str(r.get("violations", 0)), str(r.get("errors", 0)), f"{r['ops_per_s']:.0f}"))
    headers = ("mode", "reads", "writes", "reads on replica", "product queries replica", "primary",
               "RYW violations", "errors", "ops/s")
    print_table(f"90/10 read/write mix, {opts['clients']} clients over {opts['tenants']} tenants on server "
                f"{SERVER} (replica apply delay {opts['replica_delay_ms']} ms)", rows, headers)
    # The no-token run exists to show violations; the others must have none.
    ok = all(not r.get("violations") and not r.get("errors") for mode, r in results.items() if mode != "no-token")
    path = write_result("replicas", {"options": opts, "results": results,
                                     "replica_share": results["replicas"]["replica_share"], "ok": ok})
    print(f"\nwritten {path}")
    return ok


def main() -> None:
    from bench.common import sized_options

    parser = argparse.ArgumentParser()
    parser.add_argument("--replica-delay-ms", type=int, default=0, help="replay delay of server a's replica")
    parser.add_argument("--no-token-run", action="store_true", help="add a run whose clients drop the token")
    parser.add_argument("--mix", action="store_true", help=argparse.SUPPRESS)  # one mix, in this process
    parser.add_argument("--drop-token", action="store_true", help=argparse.SUPPRESS)
    args, opts = sized_options(FULL, QUICK, parser)
    import django

    django.setup()
    if args.mix:
        print(json.dumps(run_mix(opts["ops"], opts["clients"], send_token=not args.drop_token)))
        return
    from bench import world

    build_world(opts["tenants"], opts["clients"])
    modes = ["replicas", "primary", *(["no-token"] if args.no_token_run else [])]
    try:
        with replica_apply_delay(args.replica_delay_ms):
            results = {mode: run_mode(mode, opts["ops"], opts["clients"]) for mode in modes}
    finally:
        world.drop_tenant_databases()
    if not report(results, {**opts, "replica_delay_ms": args.replica_delay_ms}):
        sys.exit("read-your-writes violations or errors: see the table above")


if __name__ == "__main__":
    main()
