"""Provisioning latency, API 202 -> active: template clone vs migrating an empty database.

Both strategies go through the same path: POST /api/platform/tenants/ in this
process, a real Celery worker (started here, one per strategy) running the
provisioning state machine, and the tenant row turning `active` in the
control plane (polled every 2 ms on the primary).

    python -m bench.provisioning [--tenants 20]     (services up: `make services`)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import percentile, print_table, setup_django, write_result

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "tessera-bench"


def start_worker(strategy: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.local", "CELERY_QUEUE": QUEUE,
           "TENANT_PROVISIONING_STRATEGY": strategy, "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "core", "worker", "-Q", QUEUE,
                             "--concurrency=1", "--without-gossip", "--without-mingle", "--loglevel=WARNING",
                             "-n", f"bench-{strategy}@%h"], cwd=ROOT, env=env, start_new_session=True)
    from core.celery import app

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(name.startswith(f"bench-{strategy}@") for r in app.control.ping(timeout=0.5) or [] for name in r):
            return proc
    raise RuntimeError("bench worker did not start")


def run(strategy: str, count: int, client: object, token: str) -> list[float]:
    from tenants.models import Tenant

    worker = start_worker(strategy)
    latencies = []
    try:
        for i in range(count + 1):  # the first one warms up the worker (and template)
            slug = f"bench-{strategy[:3]}-{i:03d}"
            started = time.perf_counter()
            response = client.post("/api/platform/tenants/", {  # type: ignore[attr-defined]
                "slug": slug, "name": slug, "admin_email": f"o@{slug}.test", "admin_password": "bench-pass-1",
                "server": "b"}, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")
            assert response.status_code == 202, response.content
            accepted = time.perf_counter()
            while Tenant.objects.using("default").get(slug=slug).status == "provisioning":
                time.sleep(0.002)
            status = Tenant.objects.using("default").get(slug=slug).status
            assert status == "active", f"{slug} ended {status}"
            if i:
                latencies.append(time.perf_counter() - accepted)
            del started
    finally:
        worker.terminate()
        worker.wait(20)
    return latencies


def cleanup(prefix: str = "bench-") -> None:
    from tenants import provisioning
    from tenants.models import Tenant

    for tenant in Tenant.objects.using("default").filter(slug__startswith=prefix).exclude(status="deleted"):
        provisioning.step_drop_database(tenant, None)  # type: ignore[arg-type]
    Tenant.objects.using("default").filter(slug__startswith=prefix).delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=20)
    args = parser.parse_args()
    setup_django()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from rest_framework.authtoken.models import Token

    os.environ["CELERY_QUEUE"] = QUEUE
    from core.celery import app

    app.conf.task_default_queue = QUEUE
    call_command("migrate", verbosity=0)
    admin, _ = User.objects.using("default").get_or_create(username="bench-admin", defaults={"is_staff": True})
    token, _ = Token.objects.using("default").get_or_create(user=admin)
    cleanup()
    results = {}
    try:
        for strategy in ("clone", "migrate"):
            lat = run(strategy, args.tenants, Client(), token.key)
            results[strategy] = {"p50_s": statistics.median(lat), "p95_s": percentile(lat, 0.95),
                                 "mean_s": statistics.fmean(lat), "n": len(lat)}
    finally:
        cleanup()
    ratio = results["migrate"]["p50_s"] / results["clone"]["p50_s"]
    rows = [(name, f"{r['p50_s'] * 1000:.0f}", f"{r['p95_s'] * 1000:.0f}", str(r["n"])) for name, r in results.items()]
    rows.append(("migrate / clone (p50)", f"{ratio:.1f}x", "", ""))
    print_table("Provisioning latency, API 202 -> active (ms)", rows, ("strategy", "p50", "p95", "n"))
    print(f"\nwritten {write_result('provisioning', {'results': results, 'migrate_over_clone_p50': ratio})}")


if __name__ == "__main__":
    main()
