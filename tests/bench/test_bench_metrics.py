"""`python -m bench --quick metrics_overhead` runs end to end and compares what it claims to compare."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_metrics_benchmark_counts_only_the_requests_of_the_handler_with_metrics_on(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "metrics_overhead"], cwd=ROOT,
                          env={**os.environ, "BENCH_RESULTS_DIR": str(tmp_path)}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((tmp_path / "metrics_overhead.json").read_text())
    per_case = result["calls_per_round"] * result["rounds"]
    # The "on" handler counted each of its requests (plus its warm-up); the "off" one none of its own.
    assert result["counted"]["/healthz"] == per_case + 1
    assert result["counted"]["<unresolved>"] == per_case
    for case in result["results"].values():
        assert case["on_us"] > 0 and case["off_us"] > 0
