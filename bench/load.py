"""Drive a server with wrk (Debian's `wrk`) and read its results.

A generated Lua script picks a random (Host, path) target per request, sends
the bench token, and prints one JSON line of totals and latency percentiles
when the run ends. Traffic only ever goes to 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra.local import system

SCRIPT = """
local targets = {%(targets)s}
local token = "%(token)s"
local write_share = %(write_share)s
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid)
end

function request()
  local t = targets[math.random(#targets)]
  if math.random() < write_share then
    return wrk.format("PATCH", t[2], {["Host"] = t[1], ["Authorization"] = "Token " .. token,
                                      ["Content-Type"] = "application/json"}, '{"title": "written by wrk"}')
  end
  return wrk.format("GET", t[2], {["Host"] = t[1], ["Authorization"] = "Token " .. token})
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nWRK_JSON {"requests": %%d, "duration_us": %%d, "non_2xx": %%d, "socket_errors": %%d, ' ..
    '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "mean_us": %%.1f, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured."""

    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @classmethod
    def combined(cls, runs: list[LoadResult]) -> LoadResult:
        """Return consecutive runs as one: summed counts and time, each percentile its worst run's."""
        return cls(requests=sum(r.requests for r in runs), seconds=sum(r.seconds for r in runs),
                   non_2xx=sum(r.non_2xx for r in runs), socket_errors=sum(r.socket_errors for r in runs),
                   p50_ms=max(r.p50_ms for r in runs), p90_ms=max(r.p90_ms for r in runs),
                   p99_ms=max(r.p99_ms for r in runs),
                   mean_ms=sum(r.mean_ms * r.requests for r in runs) / max(1, sum(r.requests for r in runs)))


def ensure_wrk() -> str:
    """Return wrk's path, installing the Debian package first when root and missing."""
    system.ensure_binaries({"wrk": "wrk"})
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    return found


def write_script(targets: list[tuple[str, str]], token: str, directory: Path, *, write_share: float = 0.0) -> Path:
    """Write the Lua script for `targets`, a list of (Host header, path).

    Each request is a GET of a random target, or, with probability
    `write_share`, a PATCH of its title.
    """
    body = ",".join(f'{{"{host}","{path}"}}' for host, path in targets)
    path = directory / "bench.lua"
    path.write_text(SCRIPT % {"targets": body, "token": token, "write_share": repr(float(write_share))})
    return path


def run_wrk(url: str, script: Path, *, seconds: float, connections: int, threads: int) -> LoadResult:
    """Run wrk against `url` (loopback only) and parse the script's summary line."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("benchmark traffic goes to 127.0.0.1 only")
    cmd = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
           "--timeout", "30s", "-s", str(script), url]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{proc.stdout}{proc.stderr}")
    data = json.loads(line[len("WRK_JSON "):])
    return LoadResult(requests=data["requests"], seconds=data["duration_us"] / 1e6, non_2xx=data["non_2xx"],
                      socket_errors=data["socket_errors"], p50_ms=data["p50_us"] / 1000,
                      p90_ms=data["p90_us"] / 1000, p99_ms=data["p99_us"] / 1000, mean_ms=data["mean_us"] / 1000)


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    """Return a temporary directory for the Lua script (removed on exit)."""
    return tempfile.TemporaryDirectory(prefix="tessera-bench-")
