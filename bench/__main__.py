"""Run the benchmarks: ``python -m bench [--quick] [name ...]`` (what `make bench` runs).

Each benchmark runs in its own process (each configures Django its own way),
prints its table and writes ``bench/results/<name>.json`` (or under
``BENCH_RESULTS_DIR``). ``--quick`` runs every one at a tiny size: a smoke
test that the machinery works, whose numbers mean nothing. ``--markdown``
prints the tables as Markdown, ready for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from bench.common import ROOT, machine, print_table

# name -> extra arguments for --quick (full size takes each module's defaults)
BENCHMARKS: dict[str, list[str]] = {
    "switch_cost": ["--quick"],
    "routing_overhead": ["--quick"],
    "http_overhead": ["--quick"],
    "provisioning": ["--tenants", "3"],
    "fleet": ["--quick"],
    "connections": ["--quick"],
    "tenant_spread": ["--quick"],
    "replicas": ["--quick"],
    "login": ["--quick"],
}


def run(name: str, quick: bool, markdown: bool) -> tuple[int, float]:
    """Run one benchmark module; return its exit code and wall time."""
    print(f"\n=== {name}{' (quick)' if quick else ''} ===", flush=True)
    started = time.monotonic()
    # Each module picks its own settings: do not pass on the caller's (pytest's, a shell's).
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    if markdown:
        env["BENCH_MARKDOWN"] = "1"
    code = subprocess.call([sys.executable, "-m", f"bench.{name}", *(BENCHMARKS[name] if quick else [])],
                           cwd=ROOT, env=env)
    return code, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    print("machine: " + ", ".join(f"{key} {value}" for key, value in machine().items()), flush=True)
    outcomes = {name: run(name, args.quick, args.markdown) for name in (args.names or BENCHMARKS)}
    rows = [(name, "ok" if code == 0 else f"FAILED ({code})", f"{seconds:.0f}")
            for name, (code, seconds) in outcomes.items()]
    print_table("Benchmarks", rows, ("benchmark", "result", "seconds"))
    return 1 if any(code for code, _ in outcomes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
