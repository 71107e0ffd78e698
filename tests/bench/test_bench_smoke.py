"""`python -m bench --quick` works: the cheap benchmarks run end to end and write their results.

Benchmarks are never timed assertions; these tests check what the runs
prove regardless of speed: the router picks the expected alias, and the
read/write mix sees every write it made (0 read-your-writes violations) and
serves reads from the replica only when one is configured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    results = tmp_path_factory.mktemp("bench-results")
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "routing_overhead", "replicas"], cwd=ROOT,
                          env={**os.environ, "BENCH_RESULTS_DIR": str(results)}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {path.stem: json.loads(path.read_text()) for path in results.glob("*.json")}


@pytest.mark.slow
def test_routing_benchmark_routes_reads_to_the_replica_only_where_one_exists(quick_results):
    routed = quick_results["routing_overhead"]["results"]
    assert routed["a"]["target_alias"] == "tenant:bench-route-a:replica"
    assert routed["b"]["target_alias"] == "tenant:bench-route-b"


@pytest.mark.slow
def test_read_write_mix_sees_every_write_and_uses_the_replica_only_when_configured(quick_results):
    result = quick_results["replicas"]
    assert result["ok"] is True
    with_replica, primary_only = result["results"]["replicas"], result["results"]["primary"]
    for mode in (with_replica, primary_only):
        assert mode.get("violations", 0) == 0
        assert mode.get("errors", 0) == 0
        assert 0 < mode["writes"] < mode["reads"] / 4  # mostly reads, some writes
    assert with_replica["replica_reads"] > 0
    assert primary_only.get("product_on_replica", 0) == 0


def test_the_tenancy_off_contender_boots_without_the_tenancy_apps() -> None:
    """A middleware of an app a contender leaves out would stop its gunicorn from starting.

    The django-tenants peer takes its middleware from these settings (and needs the
    `bench` extra, which `make bench` installs), so this covers both.
    """
    module = "bench.contenders.settings_off"
    code = ("import django, json; django.setup()\n"
            "from django.core.handlers.wsgi import WSGIHandler; from django.conf import settings\n"
            "WSGIHandler(); print(json.dumps(sorted({name.split('.')[0] for name in settings.MIDDLEWARE})))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": module})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not {"tenants", "routers"} & set(json.loads(proc.stdout.strip().splitlines()[-1]))
