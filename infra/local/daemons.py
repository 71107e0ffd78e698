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
max_client_conn = 2000
default_pool_size = 20
min_pool_size = 0
reserve_pool_size = 5
max_db_connections = 100
server_idle_timeout = 60
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
    system.run([system.binary("pgbouncer"), "-d", str(directory / "pgbouncer.ini")], as_service=True)
    system.wait_for_port(instance.pooler_port)


def _write_pgbouncer_config(instance: PgInstance, directory: Path) -> bool:
    """Write pgbouncer.ini and its user list; return True when the ini changed."""
    include = directory / "databases.ini"
    if not include.exists():
        include.write_text("")
    (directory / "userlist.txt").write_text(
        f'"{config.APP_USER}" "{config.APP_PASSWORD}"\n"{config.SUPERUSER}" "{config.SUPERUSER}"\n'
    )
    ini = PGBOUNCER_INI.format(
        include=include, pg_port=instance.port, port=instance.pooler_port,
        userlist=directory / "userlist.txt", superuser=config.SUPERUSER, app_user=config.APP_USER,
        logfile=config.LOG_DIR / f"pgbouncer-{instance.name}.log", pidfile=directory / "pgbouncer.pid",
        query_wait_timeout=1 if instance.is_replica else 5,
    )
    path = directory / "pgbouncer.ini"
    changed = not path.exists() or path.read_text() != ini
    path.write_text(ini)
    system.own(directory)
    system.own(config.LOG_DIR)
    return changed


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
