"""A real gunicorn for the suite, and a bounded concurrent HTTP client to load it.

The server is the production configuration (`infra/production/gunicorn.conf.py`,
gthread workers) with the test settings, on a free loopback port. The client
is a fixed number of threads, each sending one request at a time on a fresh
connection (so a connection error is the server's, never a keep-alive race),
recording status and latency of every request.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import free_port
from tests.reliability.world import SeededTenant

ROOT = Path(__file__).resolve().parents[2]
Request = tuple[str, str, dict[str, Any] | None, dict[str, str]]  # method, path, JSON body, headers


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    log: Path


@contextmanager
def gunicorn(*, workers: int = 2, threads: int = 4) -> Iterator[Server]:
    """Run gunicorn with the test settings on a free loopback port until the block ends."""
    port, log = free_port(), ROOT / ".local" / "log" / "reliability-web.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.test", "GUNICORN_WORKERS": str(workers),
           "GUNICORN_THREADS": str(threads),
           # The suite measures the stack, not the rate limits: lift them out of the way.
           "TENANT_RATE_LIMIT": "1000000/min", "TENANT_USER_RATE_LIMIT": "1000000/min",
           "TENANT_ANON_RATE_LIMIT": "1000000/min"}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "infra/production/gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{port}", "core.wsgi:application"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_healthy(proc, port, log)
        yield Server("127.0.0.1", port, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log}")
        try:
            if send(("127.0.0.1", port), ("GET", "/healthz", None, {}))[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout}s; see {log}")


def send(address: tuple[str, int], request: Request, timeout: float = 30) -> tuple[int, bytes]:
    """Send one request on a new connection; return its status and body."""
    method, path, body, headers = request
    conn = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        payload = json.dumps(body) if body is not None else None
        conn.request(method, path, payload, {"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class LoadResult:
    """Every request's status and latency, and every connection error, of one load run."""

    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # the first few non-2xx answers and errors

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + sum(self.errors.values())

    @property
    def bad(self) -> int:
        """Count requests that did not get a 2xx (5xx, unexpected 4xx, connection errors)."""
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300) + sum(self.errors.values())

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]

    def summary(self) -> str:
        return (f"{self.requests} requests in {self.seconds:.1f} s: {self.requests / self.seconds:.0f} req/s, "
                f"p50 {self.percentile(50):.1f} ms, p99 {self.percentile(99):.1f} ms, "
                f"statuses {dict(sorted(self.statuses.items()))}, connection errors {dict(self.errors)}")

    def merge(self, other: LoadResult) -> None:
        self.latencies_ms += other.latencies_ms
        self.statuses += other.statuses
        self.errors += other.errors
        self.failures += other.failures[: max(0, 10 - len(self.failures))]


def run_load(server: Server, draw: Callable[[random.Random], Request], *, seconds: float, clients: int,
             seed: int) -> LoadResult:
    """Send requests drawn by `draw` from `clients` threads for `seconds`; return what happened."""
    results = [LoadResult() for _ in range(clients)]
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=_client, args=(server, draw, random.Random(seed + i), deadline, results[i]))
               for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = LoadResult(seconds=time.monotonic() - started)
    for result in results:
        total.merge(result)
    return total


def _client(server: Server, draw: Callable[[random.Random], Request], rng: random.Random, deadline: float,
            result: LoadResult) -> None:
    while time.monotonic() < deadline:
        request = draw(rng)
        started = time.perf_counter()
        try:
            status, body = send((server.host, server.port), request)
        except (OSError, http.client.HTTPException) as exc:
            result.errors[type(exc).__name__] += 1
            if len(result.failures) < 10:
                result.failures.append(f"{request[0]} {request[1]}: {exc!r}")
            continue
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        result.statuses[status] += 1
        if not 200 <= status < 300 and len(result.failures) < 10:
            result.failures.append(f"{request[0]} {request[1]} -> {status} {body[:300]!r}")


def mixed_traffic(world: list[SeededTenant], *, write_share: float = 0.2) -> Callable[[random.Random], Request]:
    """Return a drawer of the product's common calls over every tenant (reads and writes)."""

    def draw(rng: random.Random) -> Request:
        tenant = rng.choice(world)
        headers = {"Host": f"{tenant.slug}.localhost",
                   "Authorization": f"Token {tenant.tokens[rng.choice(('admin', 'member'))]}"}
        project = tenant.ids["project"][0]
        task = rng.choice(tenant.ids["task"][: len(tenant.ids["task"]) // 2])  # the tasks of `project`
        if rng.random() < write_share:
            return rng.choice([
                ("POST", "/api/tasks/", {"project": project, "title": "load", "tags": ["load"]}, headers),
                ("PATCH", f"/api/tasks/{task}/", {"status": rng.choice(("todo", "in_progress", "done"))}, headers),
                ("POST", f"/api/tasks/{task}/comments/", {"body": "load"}, headers),
            ])
        return rng.choices([
            ("GET", f"/api/tasks/{task}/", None, headers),
            ("GET", f"/api/tasks/?project={project}&page_size=20", None, headers),
            ("GET", f"/api/projects/{project}/stats/", None, headers),
            ("GET", "/api/projects/", None, headers),
            ("GET", f"/api/tasks/{task}/comments/", None, headers),
        ], weights=[45, 20, 15, 10, 10])[0]

    return draw
