"""Cost of the audit log and usage metering per request, in µs, measured against their absence in one run.

* Tenant request (`GET /api/me/` through the whole middleware stack, Django test
  client, in process): usage metering on vs off (`USAGE_METERING_ENABLED`,
  toggled between interleaved rounds), `usage_count` alone (a count added to
  the process's buffer) and `buffer.send()` of one tenant-day (the one
  MULTI/EXEC round trip the buffer's thread makes once a second).
* Platform action (`tenant_suspend` then `tenant_resume`, the services the API
  calls): with the audit record vs with `tenants.services.audit_record`
  replaced by a no-op for the baseline rounds (only here, to measure it), and
  one `audit_record` insert alone in a transaction.

Each pair is measured twice: in interleaved rounds (`bench.common.interleaved`)
and alternating call by call (`paired`), whose median paired difference is
the figure to quote on a loaded machine.

    python -m bench.audit_usage [--quick]        (services up: `make services`)
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.common import interleaved, print_table, setup_django, write_result

CALLS, ROUNDS = 200, 15
QUICK_CALLS, QUICK_ROUNDS = 20, 3


def paired(base: Callable[[], object], other: Callable[[], object], *, pairs: int) -> dict[str, float]:
    """Time `base` and `other` alternately, one call each per pair; return medians and the median difference (µs).

    On a loaded machine the load changes between rounds; alternating call by
    call puts both cases under the same load, and the median of the paired
    differences is the cost that survives it.
    """
    base_us, other_us = [], []
    for _ in range(pairs):
        for func, samples in ((base, base_us), (other, other_us)):
            started = time.perf_counter()
            func()
            samples.append((time.perf_counter() - started) * 1e6)
    return {"base": statistics.median(base_us), "other": statistics.median(other_us),
            "paired_difference": statistics.median(b - a for a, b in zip(base_us, other_us, strict=True))}


def _toggled(flag: bool, call: Callable[[], object]) -> Callable[[], object]:
    from django.conf import settings

    def run() -> object:
        settings.USAGE_METERING_ENABLED = flag
        return call()

    return run


def request_cases(spec: Any, token: str) -> dict[str, Callable[[], object]]:
    from django.test import Client

    from tenants import usage

    client = Client()

    def get() -> object:
        response = client.get("/api/me/", HTTP_X_TENANT=spec.slug, HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 200, response.content
        return response

    return {"request, metering off": _toggled(False, get), "request, metering on": _toggled(True, get),
            "usage_count alone": lambda: usage.usage_count(tenant_id=spec.tenant_id or 0, write=False, user_id=1,
                                                           extra={}),
            "usage batch sent": lambda: (usage.usage_count(tenant_id=spec.tenant_id or 0, write=False, user_id=1,
                                                           extra={}), usage.buffer.send())}


def action_cases(slug: str) -> dict[str, Callable[[], object]]:
    from django.db import transaction

    from core.aliases import CONTROL_ALIAS
    from tenants import audit, services

    real = services.audit_record

    def pair(record: Callable[..., Any]) -> Callable[[], object]:
        def run() -> object:
            services.audit_record = record  # type: ignore[assignment]
            try:
                services.tenant_suspend(slug=slug, actor="cli:bench")
                return services.tenant_resume(slug=slug, actor="cli:bench")
            finally:
                services.audit_record = real

        return run

    def insert_alone() -> object:
        with transaction.atomic(using=CONTROL_ALIAS):
            return audit.audit_record(actor="cli:bench", action="bench.noop", target=slug, params={"n": 1})

    return {"suspend+resume, no audit": pair(lambda **kwargs: None), "suspend+resume, audited": pair(real),
            "audit_record alone": insert_alone}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    args = parser.parse_args()
    calls, rounds = (QUICK_CALLS, QUICK_ROUNDS) if args.quick else (CALLS, ROUNDS)
    setup_django("bench.contenders.settings_on")
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from bench.world import drop_tenant_databases, recreate_control, tenants_create
    from routers import tenant_context
    from tenants import resolution
    from tenants.models import Tenant

    recreate_control()
    [spec] = tenants_create(["bench-audit"], "b")
    spec = resolution.active_spec(spec.slug) or spec  # with its control-plane id, as requests carry it
    with tenant_context(spec):
        token = Token.objects.create(user=User.objects.create_user("bench", password="bench-pass-1")).key
    requests = interleaved(request_cases(spec, token), calls=calls, rounds=rounds)
    actions = interleaved(action_cases(spec.slug), calls=max(1, calls // 4), rounds=rounds)
    req_cases, act_cases = request_cases(spec, token), action_cases(spec.slug)
    req_pairs = paired(req_cases["request, metering off"], req_cases["request, metering on"], pairs=calls * rounds)
    act_pairs = paired(act_cases["suspend+resume, no audit"], act_cases["suspend+resume, audited"],
                       pairs=calls * rounds // 4)
    assert Tenant.objects.get(slug=spec.slug).status == "active"
    drop_tenant_databases()
    metering = requests["request, metering on"] - requests["request, metering off"]
    auditing = actions["suspend+resume, audited"] - actions["suspend+resume, no audit"]
    rows = [*((name, f"{value:.1f}") for name, value in requests.items()),
            ("metering cost per request", f"{metering:+.1f}"),
            *((name, f"{value:.1f}") for name, value in actions.items()),
            ("audit cost per action (of 2)", f"{auditing / 2:+.1f}"),
            ("paired: metering cost per request", f"{req_pairs['paired_difference']:+.1f}"),
            ("paired: audit cost per action", f"{act_pairs['paired_difference'] / 2:+.1f}")]
    print_table("Audit and usage cost (median µs per call, lower is better)", rows, ("case", "µs"))
    path = write_result("audit_usage", {"calls_per_round": calls, "rounds": rounds, "requests_us": requests,
                                        "actions_us": actions, "metering_cost_us": metering,
                                        "audit_cost_per_action_us": auditing / 2, "paired_requests_us": req_pairs,
                                        "paired_actions_us": act_pairs})
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
