"""The machine's CPU over a benchmark run: all of it per request, and the kernel threads' share.

A load run's req/s says how fast; this says what the machine spent for each
request, which is steadier than req/s on a shared 2-core machine, and how
much of it the kernel took for its own housekeeping (kernel threads such as
`kdamond`, `kswapd` or `kworker`, children of `kthreadd`). On some virtual
machines that share grows with the number of processes alive, whatever they
do (docs/benchmarks.md, tenant_spread), so a contender that holds thousands
of PostgreSQL backends pays it and one that holds a few dozen does not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
KTHREADD = 2
BUSY_FIELDS = (0, 1, 2, 5, 6)  # user, nice, system, irq, softirq of /proc/stat's cpu line


@dataclass(frozen=True)
class CpuSnapshot:
    busy_s: float
    kernel_threads: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid -> (name, seconds)


def snapshot(proc: Path = Path("/proc")) -> CpuSnapshot:
    """Read the machine's busy CPU seconds and each kernel thread's CPU seconds."""
    fields = (proc / "stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(fields[i]) for i in BUSY_FIELDS) / TICKS
    threads = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if int(rest[1]) == KTHREADD:  # rest[1] is the parent pid
            threads[int(entry.name)] = (name, (int(rest[11]) + int(rest[12])) / TICKS)
    return CpuSnapshot(busy, threads)


def per_request(before: CpuSnapshot, after: CpuSnapshot, requests: int) -> dict[str, object]:
    """Return CPU ms per request between two snapshots: the machine's, the kernel threads', and the
    kernel thread that took the most."""
    spent = {pid: seconds - before.kernel_threads.get(pid, (name, 0.0))[1]
             for pid, (name, seconds) in after.kernel_threads.items()}
    top = max(spent, key=spent.__getitem__, default=None)
    per = 1000.0 / max(1, requests)
    return {"cpu_ms": round((after.busy_s - before.busy_s) * per, 2),
            "kernel_threads_ms": round(sum(spent.values()) * per, 2),
            "top_kernel_thread": after.kernel_threads[top][0] if top is not None else ""}
