"""Shared helpers for benchmarks: Django set-up, timing, result tables."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "bench" / "results"
QUICK = PUBLISHED / "quick"  # smoke figures (gitignored): --quick never overwrites the published results
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or (QUICK if "--quick" in sys.argv else PUBLISHED))
_tables: list[dict[str, Any]] = []  # what this process printed, saved with its result


def sized_options(full: dict[str, Any], quick: dict[str, Any], parser: argparse.ArgumentParser | None = None,
                  ) -> tuple[argparse.Namespace, dict[str, Any]]:
    """Parse `--quick` and one `--<size>` flag per key of `full`; return the args and the chosen sizes."""
    parser = parser or argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    for key, value in full.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=None,
                            help=f"default {value} ({quick[key]} with --quick)")
    args = parser.parse_args()
    sizes = quick if args.quick else full
    return args, {key: default if getattr(args, key) is None else getattr(args, key) for key, default in sizes.items()}


def setup_django(settings: str = "core.settings.local") -> None:
    """Configure Django with `settings`: each benchmark decides its own (importing `core` sets a default)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
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


def percentile(values: list[float], q: float) -> float:
    """Return the `q` quantile (0..1) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def machine() -> dict[str, str | int]:
    """Describe the machine a result was measured on (published next to the numbers)."""
    return {"python": platform.python_version(), "cpus": os.cpu_count() or 0, "platform": platform.platform(),
            "cpu_model": _proc_field("/proc/cpuinfo", "model name"), "memory": _proc_field("/proc/meminfo", "MemTotal"),
            "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def _proc_field(path: str, name: str) -> str:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(name)), "unknown")


def write_result(name: str, payload: dict[str, object]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {"benchmark": name, "machine": machine(), **payload, "tables": _tables}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def print_table(title: str, rows: list[tuple[str, ...]], headers: tuple[str, ...]) -> None:
    """Print an aligned table, or a Markdown one (for docs/benchmarks.md) when BENCH_MARKDOWN=1."""
    _tables.append({"title": title, "headers": list(headers), "rows": [[str(c) for c in row] for row in rows]})
    if os.environ.get("BENCH_MARKDOWN") == "1":
        print(f"\n**{title}**\n")
        for cells in (headers, tuple("---" for _ in headers), *rows):
            print("| " + " | ".join(str(c) for c in cells) + " |")
        return
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
