"""Where benchmark results go, and `python -m bench --markdown` printing them without running anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import child_env
from bench.common import PUBLISHED, QUICK

ROOT = Path(__file__).resolve().parents[2]


def test_quick_runs_write_apart_from_the_published_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_RESULTS_DIR", raising=False)
    assert child_env(quick=True)["BENCH_RESULTS_DIR"] == str(QUICK) and QUICK != PUBLISHED
    assert "BENCH_RESULTS_DIR" not in child_env(quick=False)
    probe = "import sys; sys.argv += ['--quick']; from bench import common; print(common.RESULTS)"
    env = {k: v for k, v in os.environ.items() if k != "BENCH_RESULTS_DIR"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == str(QUICK)  # a module run on its own with --quick too
    assert "bench/results/quick/" in (ROOT / ".gitignore").read_text()


def test_markdown_prints_the_saved_tables_and_runs_nothing(tmp_path: Path) -> None:
    saved = {"benchmark": "fleet", "machine": {"cpus": 2},
             "tables": [{"title": "Fleet", "headers": ["case", "s"], "rows": [["no-op", "1.5"]]}]}
    (tmp_path / "fleet.json").write_text(json.dumps(saved))
    (tmp_path / "provisioning.json").write_text(json.dumps({"benchmark": "provisioning", "results": {"p50_s": 0.1}}))
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = subprocess.run([sys.executable, "-m", "bench", "--markdown", "fleet", "provisioning"], cwd=ROOT,
                          env={**os.environ, "BENCH_RESULTS_DIR": str(tmp_path)}, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "| case | s |" in proc.stdout and "| no-op | 1.5 |" in proc.stdout
    assert "| results.p50_s | 0.1 |" in proc.stdout  # a result saved before tables were kept
    assert "===" not in proc.stdout and sorted(p.name for p in tmp_path.iterdir()) == before
