"""Where a tenant switch costs: connect, pooler authentication, server login, Django init, health check.

A request for a tenant whose connection this process does not hold opens one.
This benchmark takes that switch apart on server b, one step at a time, each
timed `--samples` times (median and p90, in ms):

* ``warm query``: `SELECT 1` on an open client connection to the pooler (what
  a switch costs when the connection is kept);
* ``health check``: Django's `is_usable()` on an open connection (one round trip);
* ``direct, scram``: a new connection straight to PostgreSQL + `SELECT 1`;
* ``pooler <auth>``: a new client connection to a PgBouncer + `SELECT 1`, its
  server connection already pooled (warm). One scratch PgBouncer per
  authentication set-up runs beside the local ones, fronting the same server:
  SCRAM with plain-text passwords in the auth file (what the local services
  shipped with), SCRAM with SCRAM secrets, and trust;
* ``pooler, cold server``: the same after `KILL`/`RESUME` of the database on
  the pooler, so PgBouncer must log into PostgreSQL too (the server login);
* ``django connect``: Django's `ensure_connection()` on a tenant alias (the
  shipped pooling policy) minus a bare psycopg2 connect to the same pooler:
  Django's connection set-up (`init_connection_state`, time zone, role);
* ``django switch, shared pool``: what a request pays instead when any
  thread of the process served the tenant lately: take the idle connection
  from the shared pool, `SELECT 1`, return it at the end of the request.

    python -m bench.switch_cost [--quick] [--samples 200]      (services up)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import psycopg2

from bench.common import percentile, print_table, setup_django, sized_options, write_result

SERVER = "b"
DATABASE = "tb_switch_cost"
FULL = {"samples": 200}
QUICK = {"samples": 10}
# auth set-up -> (auth_type, whether the auth file holds SCRAM secrets)
AUTH_SETUPS = {"scram, plain-text file": ("scram-sha-256", False),
               "scram, SCRAM secrets": ("scram-sha-256", True),
               "trust": ("trust", False)}
SCRATCH_INI = """[databases]
* = host={host} port={port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = {auth_type}
auth_file = {userlist}
admin_users = postgres
pool_mode = transaction
ignore_startup_parameters = extra_float_digits,options
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""


def timed(cases: dict[str, Callable[[], object]], samples: int) -> dict[str, dict[str, float]]:
    """Run every case `samples` times, interleaved (drift hits all alike); return median and p90 in ms."""
    values: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(samples):
        for name, func in cases.items():
            started = time.perf_counter()
            func()
            values[name].append((time.perf_counter() - started) * 1000)
    return {name: {"median_ms": round(statistics.median(v), 3), "p90_ms": round(percentile(v, 0.9), 3)}
            for name, v in values.items()}


def connect_and_ping(**params: object) -> Callable[[], None]:
    """Return a function that opens a connection with `params`, runs `SELECT 1` and closes it."""
    def once() -> None:
        conn = psycopg2.connect(**params)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            conn.close()
    return once


@contextmanager
def scratch_pooler(auth_type: str, secrets: bool, port: int) -> Iterator[int]:
    """Run a throw-away PgBouncer with one authentication set-up in front of server b."""
    from core.dbservers import configured_servers
    from infra.local import config as local
    from infra.local import postgres, system

    server = configured_servers()[SERVER]
    instance = local.PG_B
    directory = local.LOCAL_DIR / "pgbouncer" / f"switch-cost-{port}"
    directory.mkdir(parents=True, exist_ok=True)
    secret = postgres.psql(instance, f"SELECT rolpassword FROM pg_authid WHERE rolname = '{server.user}'")
    password = secret if secrets else server.password
    (directory / "userlist.txt").write_text(f'"{server.user}" "{password}"\n"postgres" "postgres"\n')
    ini = directory / "pgbouncer.ini"
    ini.write_text(SCRATCH_INI.format(host=server.primary.host, port=server.primary.port, listen=port,
                                      auth_type=auth_type, userlist=directory / "userlist.txt",
                                      directory=directory))
    system.own(directory)
    system.refuse_foreign_port(port, "switch-cost pooler")
    system.run([system.binary("pgbouncer"), "-d", str(ini)], as_service=True)
    try:
        system.wait_for_port(port)
        yield port
    finally:
        system.stop_pid(system.read_pid(directory / "pgbouncer.pid"))


def admin(port: int, command: str) -> None:
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", password="postgres", dbname="pgbouncer")
    conn.autocommit = True
    try:
        conn.cursor().execute(command)
    finally:
        conn.close()


def pooler_cases(ports: dict[str, int]) -> dict[str, Callable[[], object]]:
    """Return a new-client-connection case per scratch pooler, and one that pays the server login too."""
    from core.dbservers import configured_servers

    server = configured_servers()[SERVER]
    cases: dict[str, Callable[[], object]] = {}
    for name, port in ports.items():
        cases[f"pooler {name}"] = connect_and_ping(host="127.0.0.1", port=port, user=server.user,
                                                   password=server.password, dbname=DATABASE)
    secrets_port = ports["scram, SCRAM secrets"]
    ping = cases["pooler scram, SCRAM secrets"]

    def kill_resume() -> None:
        admin(secrets_port, f"KILL {DATABASE}")
        admin(secrets_port, f"RESUME {DATABASE}")

    cases["(KILL/RESUME on the pooler)"] = kill_resume
    cases["pooler, cold server (+KILL/RESUME)"] = lambda: (kill_resume(), ping())
    return cases


def django_cases(stack: ExitStack) -> dict[str, Callable[[], object]]:
    """Return the Django cases: connect through the shipped pooler, health check, warm query."""
    from django.db import connections

    from core.dbservers import configured_servers
    from routers import ensure_registered
    from routers.runtime import runtime
    from routers.spec import TenantSpec

    server = configured_servers()[SERVER]
    spec = TenantSpec("switch-cost", SERVER, DATABASE)
    ensure_registered(spec)
    connect_wrapper = connections[spec.alias]
    params = connect_wrapper.get_connection_params()
    warm = psycopg2.connect(**params)
    stack.callback(warm.close)
    cursor = warm.cursor()

    def django_connect() -> None:
        runtime.pool.discard(spec.alias)  # nothing idle to take: this one is a new connection
        with connect_wrapper.cursor() as django_cursor:  # connects, then the same SELECT 1 as the bare case
            django_cursor.execute("SELECT 1")
            django_cursor.fetchone()
        connect_wrapper.close()  # into the shared pool, for the next case

    def django_shared() -> None:
        with connect_wrapper.cursor() as django_cursor:  # takes the idle connection the last request returned
            django_cursor.execute("SELECT 1")
            django_cursor.fetchone()
        connect_wrapper.close()  # the end of a request: back to the process's shared pool

    def warm_query() -> None:
        cursor.execute("SELECT 1")
        cursor.fetchone()

    return {"warm SELECT 1 = health check (pooler)": warm_query,
            "direct, scram": connect_and_ping(host=server.primary.host, port=server.primary.port,
                                              user=server.user, password=server.password, dbname=DATABASE),
            "bare connect, shipped pooler": connect_and_ping(**params),
            "django connect, shipped pooler": django_connect,
            "django switch, shared pool (take + SELECT 1 + return)": django_shared}


def main() -> None:
    _, opts = sized_options(FULL, QUICK)
    setup_django("bench.settings")
    from tenants import dbops

    samples = int(opts["samples"])
    if not dbops.database_exists(SERVER, DATABASE):
        dbops.create_database(SERVER, DATABASE)
    from infra.local import config as local

    try:
        with ExitStack() as stack:
            ports = {name: stack.enter_context(scratch_pooler(auth, secrets, local.PORT_BASE + 60 + i))
                     for i, (name, (auth, secrets)) in enumerate(AUTH_SETUPS.items())}
            cases = {**django_cases(stack), **pooler_cases(ports)}
            for func in cases.values():
                func()  # warm every pool up
            results = timed(cases, samples)
    finally:
        from django.db import connections

        connections.close_all()
        dbops.drop_database(SERVER, DATABASE)
    results["django init (django minus bare)"] = {
        key: round(results["django connect, shipped pooler"][key] - results["bare connect, shipped pooler"][key], 3)
        for key in ("median_ms", "p90_ms")}
    rows = [(name, f"{r['median_ms']:.2f}", f"{r['p90_ms']:.2f}") for name, r in results.items()]
    print_table(f"Tenant switch on server {SERVER}, step by step ({samples} samples)", rows,
                ("step", "median ms", "p90 ms"))
    path = write_result("switch_cost", {"options": opts, "results": results})
    print(f"written {path}")


if __name__ == "__main__":
    main()
