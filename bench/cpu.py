"""The machine's CPU over a benchmark run: all of it per request, and the kernel threads' share.

A load run's req/s says how fast; this says what the machine spent for each
request (CPU-bound rounds: req/s moves with it), how evenly the app's workers
shared it, and how much of it the kernel took for its own housekeeping (kernel threads such as
`kdamond`, `kswapd` or `kworker`, children of `kthreadd`). On some virtual
machines that share grows with the number of processes alive, whatever they
do (docs/benchmarks.md, tenant_spread), so a contender that holds thousands
of PostgreSQL backends pays it and one that holds a few dozen does not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
KTHREADD = 2
BUSY_FIELDS = (0, 1, 2, 5, 6)  # user, nice, system, irq, softirq of /proc/stat's cpu line


@dataclass(frozen=True)
class CpuSnapshot:
    busy_s: float
    kernel_threads: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid -> (name, seconds)
    workers: dict[int, float] = field(default_factory=dict)  # pid -> seconds, of the processes asked for


def snapshot(proc: Path = Path("/proc"), workers: Iterable[int] = ()) -> CpuSnapshot:
    """Read the machine's busy CPU seconds, each kernel thread's CPU seconds and those of `workers`."""
    fields = (proc / "stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(fields[i]) for i in BUSY_FIELDS) / TICKS
    threads, watched, seen = {}, set(workers), {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        seconds = (int(rest[11]) + int(rest[12])) / TICKS
        if int(rest[1]) == KTHREADD:  # rest[1] is the parent pid
            threads[int(entry.name)] = (name, seconds)
        if int(entry.name) in watched:
            seen[int(entry.name)] = seconds
    return CpuSnapshot(busy, threads, seen)


def per_request(before: CpuSnapshot, after: CpuSnapshot, requests: int) -> dict[str, object]:
    """Return CPU ms per request between two snapshots: the machine's, the kernel threads', and the
    kernel thread that took the most; with workers, the busiest one's share of their CPU (1 / workers
    when the load was spread evenly, 1.0 when one worker did it all)."""
    spent = {pid: seconds - before.kernel_threads.get(pid, (name, 0.0))[1]
             for pid, (name, seconds) in after.kernel_threads.items()}
    top = max(spent, key=spent.__getitem__, default=None)
    work = [seconds - before.workers.get(pid, 0.0) for pid, seconds in after.workers.items()] or [0.0]
    per = 1000.0 / max(1, requests)
    return {"cpu_ms": round((after.busy_s - before.busy_s) * per, 2),
            "kernel_threads_ms": round(sum(spent.values()) * per, 2),
            "top_kernel_thread": after.kernel_threads[top][0] if top is not None else "",
            "busiest_worker_share": round(max(work) / sum(work), 3) if sum(work) > 0 else 0.0}
