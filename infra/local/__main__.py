"""Manage the local services: ``python -m infra.local up|down|status|env|serve|stop-app``.

``up`` is idempotent: it creates what is missing, starts what is stopped and
leaves running services alone. ``down`` stops everything it started, app
processes included, by pid. ``serve`` (re)starts the Celery worker and the web
server in the background; ``stop-app`` stops only those.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

from . import config, daemons, postgres, system


def up() -> None:
    started = time.monotonic()
    system.ensure_binaries()
    system.reserve_ports(config.PORT_BASE + 20, config.PORT_BASE + 99)
    postgres.up_all()
    daemons.redis_up()
    for instance in config.PG_INSTANCES:
        daemons.pgbouncer_up(instance)
    write_env_file()
    for sub in ("static", "media"):
        (config.LOCAL_DIR / sub).mkdir(parents=True, exist_ok=True)
    print(f"local services up in {time.monotonic() - started:.1f}s (state in {config.LOCAL_DIR})")
    status()


def down() -> None:
    for name in daemons.APP_PROCESSES:
        daemons.app_stop(name)
    for instance in config.PG_INSTANCES:
        daemons.pgbouncer_down(instance)
    daemons.redis_down()
    for instance in (config.PG_A_REPLICA, config.PG_A, config.PG_B):
        postgres.stop(instance)
    print("local services stopped")


def status() -> None:
    rows = [(f"postgres-{i.name}", postgres.status(i)) for i in config.PG_INSTANCES]
    rows += [(f"pgbouncer-{i.name}", daemons.pgbouncer_status(i)) for i in config.PG_INSTANCES]
    rows.append(("redis", daemons.redis_status()))
    rows += [(name, daemons.app_status(name)) for name in daemons.APP_PROCESSES]
    width = max(len(name) for name, _ in rows)
    for name, state in rows:
        print(f"  {name.ljust(width)}  {state}")


def write_env_file() -> None:
    """Write ``.local/services.env``, read by the local and test settings."""
    lines = [f"{key}={value}" for key, value in config.service_env().items()]
    (config.LOCAL_DIR / "services.env").write_text("\n".join(lines) + "\n")


def serve(settings: str) -> None:
    # One metrics directory for the web workers and the Celery worker, emptied at each start.
    metrics_dir = config.LOCAL_DIR / "metrics"
    for name in daemons.APP_PROCESSES:
        daemons.app_stop(name)
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env = {"DJANGO_SETTINGS_MODULE": settings, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    for name in daemons.APP_PROCESSES:
        pid = daemons.app_start(name, env)
        print(f"  started {name} (pid {pid}), log: {config.LOG_DIR / (name + '.log')}")
    system.wait_for_port(config.WEB_PORT, timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "env", "serve", "stop-app"])
    parser.add_argument("--settings", default="core.settings.local")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            up()
        elif args.command == "down":
            down()
        elif args.command == "status":
            status()
        elif args.command == "env":
            for key, value in config.service_env().items():
                print(f"export {key}='{value}'")
        elif args.command == "serve":
            serve(args.settings)
        else:
            for name in daemons.APP_PROCESSES:
                daemons.app_stop(name)
    except system.InfraError as exc:
        print(f"infra.local: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
