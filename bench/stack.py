"""Gunicorn processes for the HTTP benchmarks, and the connections they hold.

Every contender runs under the production gunicorn config
(`infra/production/gunicorn.conf.py`) with the same workers and threads,
bound to a loopback port derived from `TESSERA_PORT_BASE` so several
checkouts can benchmark side by side. Worker recycling is off for every
contender (a worker restart mid-round would be noise, not a property of any).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from bench.common import ROOT
from core.dbservers import Endpoint, ServerConfig
from infra.local import config, system

GUNICORN_CONF = ROOT / "infra" / "production" / "gunicorn.conf.py"


@dataclass
class Server:
    """One gunicorn master serving a settings module on a loopback port."""

    name: str
    settings: str
    port: int
    workers: int
    threads: int
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return config.LOG_DIR / f"bench-{self.name}.log"

    def start(self) -> None:
        system.refuse_foreign_port(self.port, f"bench server {self.name}")
        config.LOG_DIR.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": self.settings, "GUNICORN_WORKERS": str(self.workers),
               "GUNICORN_THREADS": str(self.threads), "GUNICORN_MAX_REQUESTS": "0",
               "GUNICORN_LOGLEVEL": "warning", "LOG_LEVEL": "WARNING", **self.env}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{self.port}",
                 "core.wsgi:application"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            system.wait_for_port(self.port, timeout=60)
        except system.InfraError:
            self.stop()
            raise RuntimeError(f"{self.name} did not start; see {self.log_path}") from None

    def stop(self) -> None:
        if self.proc is not None:
            system.stop_pid(self.proc.pid)
            self.proc.wait()
            self.proc = None

    def worker_pids(self) -> list[int]:
        """Return the pids of the gunicorn workers (the master's children)."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, object]:
        """GET `path` once; return the status and decoded JSON body."""
        request = urllib.request.Request(self.url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def server_port(offset: int) -> int:
    """Return a loopback port for bench server number `offset` of this checkout."""
    return config.PORT_BASE + 81 + offset


def established_to(pid: int, ports: set[int]) -> int:
    """Count `pid`'s established TCP connections to any of `ports` on loopback (from /proc)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue  # closed while we looked
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        lines = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return 0  # the process is gone
    count = 0
    for line in lines:
        fields = line.split()
        remote_port = int(fields[2].rsplit(":", 1)[1], 16)
        if fields[3] == "01" and fields[9] in inodes and remote_port in ports:
            count += 1
    return count


def pgbouncer_rows(server: ServerConfig, endpoint: Endpoint, command: str) -> list[dict[str, object]]:
    """Run an admin console command (`SHOW CLIENTS`, `SHOW STATS`) on one of `server`'s PgBouncers."""
    conn = psycopg2.connect(host=endpoint.host, port=endpoint.port, dbname="pgbouncer", user=server.user,
                            password=server.password)
    conn.autocommit = True  # the console refuses BEGIN
    try:
        with conn.cursor() as cursor:
            cursor.execute(command)
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        conn.close()
