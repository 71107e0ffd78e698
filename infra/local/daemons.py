"""Local Redis, PgBouncer (one per PostgreSQL instance) and the app processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from . import config, system
from .config import PgInstance

PGBOUNCER_INI = """[databases]
; Per-tenant pool sizes, written by `manage.py pgbouncer_config` (may be empty).
%include {include}
; Every other database goes to the server this bouncer fronts.
* = host=127.0.0.1 port={pg_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {userlist}
admin_users = {superuser}
stats_users = {app_user}
pool_mode = transaction
; Many small databases: client connections are cheap and kept by the app, server
; connections are what PostgreSQL pays for. The per-user cap is the per-server cap
; (every tenant database is reached as the one app user): beyond it PgBouncer closes
; an idle server connection of another database before opening one, so the server
; holds at most that many whatever the tenant count (TENANT_SERVER_CONNECTIONS_MAX).
max_client_conn = 10000
max_user_connections = {server_cap}
max_db_connections = {db_cap}
default_pool_size = {db_cap}
min_pool_size = 0
reserve_pool_size = 0
; An idle server connection stays {server_idle} s: longer than the time between two
; requests of one tenant of the hot set. At the cap, a database new to the pooler
; gets the longest-idle connection of another database (PgBouncer evicts it).
server_idle_timeout = {server_idle}
; A server connection lives an hour (PgBouncer's default): each replacement is a backend start
; and a cold catalog cache, and with a thousand hot databases a short lifetime recycles several a second.
server_lifetime = 3600
; Fail fast when the server behind is down so the app can route around it
; (defaults are 15 s, 15 s and 120 s: a dead replica would hang reads for minutes).
server_login_retry = 1
server_connect_timeout = 3
; A replica's pooler gives up sooner: the app reads from the primary instead.
query_wait_timeout = {query_wait_timeout}
ignore_startup_parameters = extra_float_digits,options
application_name_add_host = 0
logfile = {logfile}
pidfile = {pidfile}
"""


# --- Redis -----------------------------------------------------------------

def redis_dir() -> Path:
    return config.LOCAL_DIR / "redis"


def redis_up() -> None:
    pid = system.read_pid(redis_dir() / "redis.pid")
    if not system.pid_alive(pid):
        system.refuse_foreign_port(config.REDIS_PORT, "redis")
        redis_dir().mkdir(parents=True, exist_ok=True)
        system.run([
            system.binary("redis-server"), "--port", str(config.REDIS_PORT), "--bind", "127.0.0.1",
            "--daemonize", "yes", "--pidfile", str(redis_dir() / "redis.pid"),
            "--dir", str(redis_dir()), "--save", "", "--appendonly", "no",
            "--logfile", str(config.LOG_DIR / "redis.log"),
        ])
    system.wait_for_port(config.REDIS_PORT)


def redis_down() -> None:
    system.stop_pid(system.read_pid(redis_dir() / "redis.pid"))


def redis_status() -> str:
    pid = system.read_pid(redis_dir() / "redis.pid")
    return f"running on 127.0.0.1:{config.REDIS_PORT}" if system.pid_alive(pid) else "stopped"


# --- PgBouncer ---------------------------------------------------------------

def bouncer_dir(instance: PgInstance) -> Path:
    return config.LOCAL_DIR / "pgbouncer" / instance.name


def pgbouncer_up(instance: PgInstance) -> None:
    directory = bouncer_dir(instance)
    directory.mkdir(parents=True, exist_ok=True)
    changed = _write_pgbouncer_config(instance, directory)
    pid = system.read_pid(directory / "pgbouncer.pid")
    if system.pid_alive(pid):
        if not changed:
            return
        system.stop_pid(pid, signal.SIGINT)
    system.refuse_foreign_port(instance.pooler_port, f"pgbouncer-{instance.name}")
    # Every client and server connection is a file: runuser's session starts at a soft limit of
    # 1,024, below the cap alone, so the soft limit is raised to the hard one first.
    system.run(["sh", "-c", 'ulimit -n "$(ulimit -Hn)"; exec "$@"', "pgbouncer",
                system.binary("pgbouncer"), "-d", str(directory / "pgbouncer.ini")], as_service=True)
    system.wait_for_port(instance.pooler_port)


def _write_pgbouncer_config(instance: PgInstance, directory: Path) -> bool:
    """Write pgbouncer.ini and its user list; return True when the ini changed."""
    include = directory / "databases.ini"
    if not include.exists():
        include.write_text("")
    (directory / "userlist.txt").write_text(userlist(instance))
    ini = PGBOUNCER_INI.format(
        server_cap=config.SERVER_CONNECTIONS_MAX, db_cap=min(20, config.SERVER_CONNECTIONS_MAX),
        include=include, pg_port=instance.port, port=instance.pooler_port,
        userlist=directory / "userlist.txt", superuser=config.SUPERUSER, app_user=config.APP_USER,
        logfile=config.LOG_DIR / f"pgbouncer-{instance.name}.log", pidfile=directory / "pgbouncer.pid",
        query_wait_timeout=1 if instance.is_replica else 5, server_idle=config.SERVER_IDLE_SECONDS,
    )
    path = directory / "pgbouncer.ini"
    changed = not path.exists() or path.read_text() != ini
    path.write_text(ini)
    system.own(directory)
    system.own(config.LOG_DIR)
    return changed


def userlist(instance: PgInstance) -> str:
    """Return the auth file: the app user's SCRAM secret as PostgreSQL stores it, never its password.

    With a plain-text password PgBouncer derives the SCRAM key (4,096 PBKDF2
    rounds) at every client login; with the secret it only checks the proof,
    and it can log into PostgreSQL with the client's keys because the secret is
    the server's own. The admin console user keeps a password (no server login).
    """
    from . import postgres

    primary = next(i for i in config.PG_INSTANCES if i.name == (instance.primary_of or instance.name))
    secret = postgres.psql(primary, f"SELECT rolpassword FROM pg_authid WHERE rolname = '{config.APP_USER}'")
    if not secret.startswith("SCRAM-SHA-256$"):
        raise system.InfraError(f"role {config.APP_USER} has no SCRAM secret on {primary.name}")
    return f'"{config.APP_USER}" "{secret}"\n"{config.SUPERUSER}" "{config.SUPERUSER}"\n'


def pgbouncer_down(instance: PgInstance) -> None:
    system.stop_pid(system.read_pid(bouncer_dir(instance) / "pgbouncer.pid"))


def pgbouncer_status(instance: PgInstance) -> str:
    pid = system.read_pid(bouncer_dir(instance) / "pgbouncer.pid")
    if not system.pid_alive(pid):
        return "stopped"
    return f"running on 127.0.0.1:{instance.pooler_port} -> {instance.port}"



# --- App processes (web server and Celery worker) ------------------------------

APP_PROCESSES = ("worker", "web")


def app_pidfile(name: str) -> Path:
    return config.RUN_DIR / f"{name}.pid"


def app_command(name: str) -> list[str]:
    python = sys.executable
    if name == "worker":
        # -B: embedded beat runs the provisioning watchdog every 15 s.
        return [python, "-m", "celery", "-A", "core", "worker", "-B", "--loglevel=INFO",
                "--schedule", str(config.RUN_DIR / "celerybeat-schedule"),
                "--concurrency=2", "--without-gossip", "--without-mingle", "-n", "tessera-local@%h"]
    return [python, "-m", "gunicorn", "-c", str(config.ROOT / "infra/production/gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{config.WEB_PORT}", "core.wsgi:application"]


def app_start(name: str, env: dict[str, str]) -> int:
    """Start (or restart) one app process detached, logging under .local/log."""
    app_stop(name)
    config.RUN_DIR.mkdir(parents=True, exist_ok=True)
    config.LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = (config.LOG_DIR / f"{name}.log").open("ab")
    proc = subprocess.Popen(app_command(name), cwd=config.ROOT, env={**os.environ, **env},
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    app_pidfile(name).write_text(str(proc.pid))
    return proc.pid


def app_stop(name: str) -> None:
    system.stop_pid(system.read_pid(app_pidfile(name)))
    app_pidfile(name).unlink(missing_ok=True)


def app_status(name: str) -> str:
    pid = system.read_pid(app_pidfile(name))
    return f"running (pid {pid})" if system.pid_alive(pid) else "stopped"
