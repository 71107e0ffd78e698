"""Shared helpers for benchmarks: Django set-up, timing, result tables."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def setup_django(settings: str = "core.settings.local") -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings)
    import django

    django.setup()


def per_call_us(func: Callable[[], object], *, calls: int, rounds: int) -> list[float]:
    """Return, for each round, the mean microseconds per call."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            func()
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return samples


def interleaved(cases: dict[str, Callable[[], object]], *, calls: int, rounds: int) -> dict[str, float]:
    """Median µs per call of each case, rounds interleaved so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, func in cases.items():
            samples[name].extend(per_call_us(func, calls=calls, rounds=1))
    return {name: statistics.median(values) for name, values in samples.items()}


def machine() -> dict[str, str | int]:
    return {"python": platform.python_version(), "cpus": os.cpu_count() or 0, "platform": platform.platform()}


def write_result(name: str, payload: dict[str, object]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **payload}, indent=2) + "\n")
    return path


def print_table(title: str, rows: list[tuple[str, ...]], headers: tuple[str, ...]) -> None:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
