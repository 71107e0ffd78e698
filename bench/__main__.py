"""Run the benchmarks: ``python -m bench [--quick] [name ...]`` (what `make bench` runs).

Each benchmark runs in its own process (each configures Django its own way),
prints its table and writes ``bench/results/<name>.json`` (or under
``BENCH_RESULTS_DIR``). ``--quick`` runs every one at a tiny size: a smoke
test that the machinery works, whose numbers mean nothing, written to
``bench/results/quick/`` (gitignored) unless BENCH_RESULTS_DIR says otherwise.
``--markdown`` runs nothing: it prints the last saved results (of the quick
runs with ``--quick``) as Markdown tables, ready for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import PUBLISHED, QUICK, ROOT, machine, print_table
from bench.saved import print_saved

# name -> extra arguments for --quick (full size takes each module's defaults)
BENCHMARKS: dict[str, list[str]] = {
    "switch_cost": ["--quick"],
    "routing_overhead": ["--quick"],
    "http_overhead": ["--quick"],
    "provisioning": ["--tenants", "3"],
    "fleet": ["--quick"],
    "fleet_rollback": ["--quick"],
    "connections": ["--quick"],
    "tenant_spread": ["--quick"],
    "replicas": ["--quick"],
    "login": ["--quick"],
    "move": ["--quick"],
    "backup": ["--quick"],
    "audit_usage": ["--quick"],
    "metrics_overhead": ["--quick"],
    "noisy_neighbour": ["--quick"],
    "scale": ["--quick"],
    "alias_walk": ["--quick"],
}


def child_env(quick: bool) -> dict[str, str]:
    """Return a benchmark process's environment: its own settings, quick results kept apart."""
    # Each module picks its own settings: do not pass on the caller's (pytest's, a shell's).
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    if quick and not env.get("BENCH_RESULTS_DIR"):
        env["BENCH_RESULTS_DIR"] = str(QUICK)
    return env


def run(name: str, quick: bool) -> tuple[int, float]:
    """Run one benchmark module; return its exit code and wall time."""
    print(f"\n=== {name}{' (quick)' if quick else ''} ===", flush=True)
    started = time.monotonic()
    code = subprocess.call([sys.executable, "-m", f"bench.{name}", *(BENCHMARKS[name] if quick else [])],
                           cwd=ROOT, env=child_env(quick))
    return code, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    parser.add_argument("--markdown", action="store_true",
                        help="run nothing: print the last saved results as Markdown tables")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if args.markdown:
        default = QUICK if args.quick else PUBLISHED
        return print_saved(Path(os.environ.get("BENCH_RESULTS_DIR") or default), args.names or list(BENCHMARKS))
    print("machine: " + ", ".join(f"{key} {value}" for key, value in machine().items()), flush=True)
    outcomes = {name: run(name, args.quick) for name in (args.names or BENCHMARKS)}
    rows = [(name, "ok" if code == 0 else f"FAILED ({code})", f"{seconds:.0f}")
            for name, (code, seconds) in outcomes.items()]
    print_table("Benchmarks", rows, ("benchmark", "result", "seconds"))
    return 1 if any(code for code, _ in outcomes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
