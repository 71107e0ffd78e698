"""Local PostgreSQL clusters: server A primary + streaming replica, server B primary."""

from __future__ import annotations

import re
import shutil
import time

from . import config, system
from .config import PgInstance

PG_CONF = """# Written by `python -m infra.local up` on every run: edit infra/local/postgres.py.
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{run_dir}'
max_connections = {max_connections}
# Django's connection time zone: a new connection then needs no SET TIME ZONE.
timezone = 'UTC'
shared_buffers = 128MB
# The autovacuum launcher starts one worker per naptime / databases: with the default 1 min and
# a thousand tenant databases that is a worker (a fork and a catalog read, about 10 ms of CPU) every
# 100 ms, 7 % of a core with no traffic at all. 10 min keeps it under 2 a second at 1,000 databases;
# a database's tables are still vacuumed within 10 min of passing their thresholds.
autovacuum_naptime = 10min
# Local development: durability is traded for speed. Never copy to production.
# synchronous_commit stays on so WAL is flushed, and so streamed, at commit.
fsync = off
# logical: a tenant move copies a live database with logical replication (docs/operations.md).
# Changing wal_level needs a restart: `start` restarts a running cluster whose settings wait for one.
wal_level = logical
max_wal_senders = 20
max_replication_slots = 20
max_logical_replication_workers = 8
max_sync_workers_per_subscription = 2
max_worker_processes = 16
wal_keep_size = 512MB
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s
max_standby_streaming_delay = -1
log_min_messages = warning
log_line_prefix = '%m [%p] %d %a '
"""

PG_HBA = """local all all trust
host all {superuser} 127.0.0.1/32 trust
host replication {superuser} 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""


def pg_ctl(instance: PgInstance, *args: str) -> None:
    system.run(
        [system.binary("pg_ctl"), "-D", str(instance.data_dir), "-l", str(instance.log_file), *args],
        as_service=True,
    )


def is_running(instance: PgInstance) -> bool:
    pid = system.read_pid(instance.data_dir / "postmaster.pid")
    return system.pid_alive(pid)


def psql(instance: PgInstance, sql: str, db: str = "postgres") -> str:
    """Run SQL as the superuser over loopback and return the unaligned output."""
    cmd = [system.binary("psql"), "-X", "-qAt", "-h", "127.0.0.1", "-p", str(instance.port),
           "-U", config.SUPERUSER, "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql]
    return system.run(cmd).stdout.strip()


def initialise(instance: PgInstance) -> None:
    """Create a primary's data directory with our settings (once)."""
    if (instance.data_dir / "PG_VERSION").exists():
        return
    _prepare_dirs(instance)
    system.run([system.binary("initdb"), "-D", str(instance.data_dir), "-U", config.SUPERUSER,
                "-E", "UTF8", "--locale=C.UTF-8", "-A", "trust", "--no-sync"], as_service=True)
    with (instance.data_dir / "postgresql.conf").open("a") as fh:
        fh.write("\ninclude_if_exists = 'tessera.conf'\n")
    (instance.data_dir / "pg_hba.conf").write_text(PG_HBA.format(superuser=config.SUPERUSER))
    system.own(instance.data_dir)


def _prepare_dirs(instance: PgInstance) -> None:
    for path in (instance.data_dir.parent, config.RUN_DIR, config.LOG_DIR):
        path.mkdir(parents=True, exist_ok=True)
    system.own(config.LOCAL_DIR)


def write_conf(instance: PgInstance) -> bool:
    """Write our settings file; return True when it changed."""
    path = instance.data_dir / "tessera.conf"
    conf = PG_CONF.format(port=instance.port, run_dir=config.RUN_DIR,
                         max_connections=config.SERVER_CONNECTIONS_MAX + config.DIRECT_CONNECTIONS_ROOM)
    if path.exists() and path.read_text() == conf:
        return False
    path.write_text(conf)
    system.own(path)
    return True


def start(instance: PgInstance) -> None:
    changed = write_conf(instance)
    if is_running(instance) and changed:
        pg_ctl(instance, "reload")
        if needs_restart(instance):  # e.g. wal_level: a cluster from an earlier run gets it too
            pg_ctl(instance, "-w", "-t", "60", "-m", "fast", "restart")
    if not is_running(instance):
        system.refuse_foreign_port(instance.port, instance.name)
        pg_ctl(instance, "-w", "-t", "60", "start")
    system.wait_for_port(instance.port)

def needs_restart(instance: PgInstance) -> bool:
    """Say whether a reloaded cluster has settings that only a restart applies."""
    return psql(instance, "SELECT count(*) FROM pg_settings WHERE pending_restart") not in ("", "0")


def bootstrap_roles(instance: PgInstance) -> None:
    """Create the application role (and, on server A, the control database)."""
    exists = psql(instance, f"SELECT 1 FROM pg_roles WHERE rolname = '{config.APP_USER}'")
    if not exists:
        psql(instance, f"CREATE ROLE {config.APP_USER} LOGIN CREATEDB PASSWORD '{config.APP_PASSWORD}'")
        psql(instance, f"GRANT pg_signal_backend TO {config.APP_USER}")
    # A move's subscription streams from the source server as the application role.
    psql(instance, f"ALTER ROLE {config.APP_USER} REPLICATION")
    # Fleet runs stamp each tenant database with its migration state (migrations_tooling.stamps);
    # a custom setting needs this grant for a non-superuser. Idempotent, so existing servers get it too.
    psql(instance, f"GRANT SET ON PARAMETER tessera.migrations TO {config.APP_USER}")
    if instance is config.PG_A:
        has_db = psql(instance, f"SELECT 1 FROM pg_database WHERE datname = '{config.CONTROL_DB}'")
        if not has_db:
            psql(instance, f"CREATE DATABASE {config.CONTROL_DB} OWNER {config.APP_USER}")


def create_replica(replica: PgInstance, primary: PgInstance) -> None:
    """Clone the primary with pg_basebackup -R so the copy streams from it."""
    if (replica.data_dir / "PG_VERSION").exists():
        return
    _prepare_dirs(replica)
    tmp = replica.data_dir.with_name(replica.data_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    system.run([system.binary("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                "-U", config.SUPERUSER, "-D", str(tmp), "-R", "-X", "stream", "-c", "fast",
                "--no-sync"], as_service=True)
    tmp.rename(replica.data_dir)


def point_at_primary(replica: PgInstance, primary: PgInstance) -> None:
    """Make the replica stream from the primary's current port (TESSERA_PORT_BASE may have changed).

    pg_basebackup -R wrote the primary's port of that day into the replica's
    postgresql.auto.conf, which wins over our managed configuration file.
    """
    auto = replica.data_dir / "postgresql.auto.conf"
    if not auto.exists():
        return
    text = auto.read_text()
    fixed = re.sub(r"(primary_conninfo = '[^\n]*?\bport=)\d+", rf"\g<1>{primary.port}", text)
    if fixed != text:
        auto.write_text(fixed)
        if is_running(replica):
            pg_ctl(replica, "reload")


def wait_streaming(replica: PgInstance, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if psql(replica, "SELECT status FROM pg_stat_wal_receiver") == "streaming":
            return
        time.sleep(0.1)
    raise system.InfraError(f"replica {replica.name} is not streaming after {timeout:.0f}s")


def stop(instance: PgInstance) -> None:
    if is_running(instance):
        pg_ctl(instance, "-w", "-t", "60", "-m", "fast", "stop")


def status(instance: PgInstance) -> str:
    if not is_running(instance):
        return "stopped"
    role = "replica" if instance.is_replica else "primary"
    return f"running ({role}) on 127.0.0.1:{instance.port}"


def up_all() -> None:
    """Bring every PostgreSQL instance up, creating what is missing."""
    for instance in (config.PG_A, config.PG_B):
        initialise(instance)
        start(instance)
        bootstrap_roles(instance)
    create_replica(config.PG_A_REPLICA, config.PG_A)
    point_at_primary(config.PG_A_REPLICA, config.PG_A)
    start(config.PG_A_REPLICA)
    wait_streaming(config.PG_A_REPLICA)
