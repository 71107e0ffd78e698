"""Cost of the audit log and usage metering per request, in µs, measured against their absence in one run.

* Tenant request (`GET /api/me/` through the whole middleware stack, Django test
  client, in process): usage metering on vs off (`USAGE_METERING_ENABLED`,
  toggled between interleaved rounds), and `usage_count` alone (the one
  pipelined Redis round trip).
* Platform action (`tenant_suspend` then `tenant_resume`, the services the API
  calls): with the audit record vs with `tenants.services.audit_record`
  replaced by a no-op for the baseline rounds (only here, to measure it), and
  one `audit_record` insert alone in a transaction.

    python -m bench.audit_usage [--quick]        (services up: `make services`)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from bench.common import interleaved, print_table, setup_django, write_result

CALLS, ROUNDS = 200, 15
QUICK_CALLS, QUICK_ROUNDS = 20, 3


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
                                                           extra={})}


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
    assert Tenant.objects.get(slug=spec.slug).status == "active"
    drop_tenant_databases()
    metering = requests["request, metering on"] - requests["request, metering off"]
    auditing = actions["suspend+resume, audited"] - actions["suspend+resume, no audit"]
    rows = [*((name, f"{value:.1f}") for name, value in requests.items()),
            ("metering cost per request", f"{metering:+.1f}"),
            *((name, f"{value:.1f}") for name, value in actions.items()),
            ("audit cost per action (of 2)", f"{auditing / 2:+.1f}")]
    print_table("Audit and usage cost (median µs per call, lower is better)", rows, ("case", "µs"))
    path = write_result("audit_usage", {"calls_per_round": calls, "rounds": rounds, "requests_us": requests,
                                        "actions_us": actions, "metering_cost_us": metering,
                                        "audit_cost_per_action_us": auditing / 2})
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
