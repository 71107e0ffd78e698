"""Time commands the way users run them: a fresh Python process each, Django start-up included."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from bench.common import ROOT


def timed_command(args: list[str], *, settings: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Run `python <args>` from the project root under `settings`; return its wall time and output.

    Raise (with the end of its output) if it fails.
    """
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": settings, **(env or {})}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args[:3])} failed ({proc.returncode}):\n{proc.stdout[-2000:]}"
                           f"\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout


def startup_seconds(settings: str, *, rounds: int = 3) -> float:
    """Return the median time of a process that only sets Django up under `settings` (and exits)."""
    code = "import django; django.setup()"
    return statistics.median(timed_command(["-c", code], settings=settings)[0] for _ in range(rounds))
