"""The benchmark's CPU accounting: the machine's busy time per request and the kernel threads' share,
read from a /proc laid out as Linux lays it out; and the server-connection peaks it keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import cpu
from bench.tenant_spread import watch_peak

pytestmark = pytest.mark.unit


def fake_proc(root: Path, busy: tuple[int, int, int, int, int, int, int, int],
              processes: dict[int, tuple[str, int, int, int]]) -> Path:
    """Write /proc/stat's cpu line and one /proc/<pid>/stat per process: name, parent, utime, stime."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "stat").write_text("cpu  " + " ".join(map(str, busy)) + " 0 0\ncpu0 1 2 3\n")
    for pid, (name, parent, utime, stime) in processes.items():
        (root / str(pid)).mkdir(exist_ok=True)
        # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        (root / str(pid) / "stat").write_text(f"{pid} ({name}) S {parent} 0 0 0 0 0 0 0 0 0 {utime} {stime} 0 0\n")
    (root / "self").mkdir(exist_ok=True)
    return root


def test_per_request_counts_busy_time_and_only_the_children_of_kthreadd(tmp_path: Path) -> None:
    ticks = cpu.TICKS
    before = cpu.snapshot(fake_proc(tmp_path / "a", (0, 0, 0, 99, 0, 0, 0, 0), {
        83: ("kdamond.0", 2, 0, 10 * ticks), 47: ("kswapd0", 2, 0, 0), 500: ("postgres", 1, 5 * ticks, 0)}))
    # 2 s of user, 1 s of system, 1 s of softirq later; idle, iowait and steal are not busy.
    after = cpu.snapshot(fake_proc(tmp_path / "b", (2 * ticks, 0, ticks, 500, 7, 0, ticks, 3), {
        83: ("kdamond.0", 2, 0, 11 * ticks), 47: ("kswapd0", 2, 0, ticks // 2),
        500: ("postgres (a) x", 1, 9 * ticks, 0), 600: ("kworker/0:1", 2, 0, ticks // 2)}))
    spent = cpu.per_request(before, after, requests=1000)
    assert spent["cpu_ms"] == pytest.approx(4.0)  # 4 busy seconds over 1,000 requests
    # kdamond 1 s, kswapd 0.5 s, a kernel thread born meanwhile 0.5 s; the postgres process is no kernel thread
    assert spent["kernel_threads_ms"] == pytest.approx(2.0)
    assert spent["top_kernel_thread"] == "kdamond.0"
    assert spent["busiest_worker_share"] == 0.0  # no workers asked for


def test_busiest_worker_share_says_how_unevenly_the_workers_shared_the_load(tmp_path: Path) -> None:
    ticks, idle = cpu.TICKS, (0, 0, 0, 0, 0, 0, 0, 0)
    before = cpu.snapshot(fake_proc(tmp_path / "a", idle, {
        701: ("python", 700, ticks, 0), 702: ("python", 700, ticks, 0), 703: ("python", 700, 0, 0)}),
        workers=[701, 702])
    after = cpu.snapshot(fake_proc(tmp_path / "b", idle, {
        701: ("python", 700, 4 * ticks, 0), 702: ("python", 700, 2 * ticks, 0), 703: ("python", 700, 9 * ticks, 0)}),
        workers=[701, 702])
    assert after.workers == {701: 4.0, 702: 2.0}  # 703 was not asked for
    # 3 s and 1 s of the workers' 4 s: the busiest did three quarters
    assert cpu.per_request(before, after, requests=100)["busiest_worker_share"] == 0.75


def test_peaks_keep_the_most_backends_and_the_most_the_pooler_held_or_did_not() -> None:
    peak: dict[str, int] = {}
    samples = ({"backends": 990, "unpooled": 0}, {"backends": 1001, "unpooled": 3}, {"backends": 1000, "unpooled": 0})
    for seen in samples:
        watch_peak(peak, seen)
    assert peak == {"backends": 1001, "pooled": 1000, "unpooled": 3}
