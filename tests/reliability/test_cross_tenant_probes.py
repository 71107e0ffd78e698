"""Thousands of randomized cross-tenant requests through the full middleware stack: nothing leaks.

Set `RELIABILITY_PROBE_SEED` to replay a failing run and `RELIABILITY_PROBES`
to change how many probes are sent (default 5,000).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import time
from collections.abc import Callable

from django.test import Client, override_settings

from tests.reliability.probes import ProbeDrawer, Verdicts, tenant_endpoints
from tests.reliability.world import SeededTenant, fingerprint

NO_THROTTLE = {"tenant": "1000000/min", "tenant_user": "1000000/min"}  # a 429 would hide the answer


def test_randomized_cross_tenant_requests_never_leak_or_fail(
    make_world: Callable[..., list[SeededTenant]], report: Callable[[str], None],
) -> None:
    world = make_world("rel-probe", ["a", "b", "a", "b"])
    seed = int(os.environ.get("RELIABILITY_PROBE_SEED") or secrets.randbelow(2**32))
    wanted = int(os.environ.get("RELIABILITY_PROBES", "5000"))
    print(f"cross-tenant probes: seed {seed} (replay with RELIABILITY_PROBE_SEED={seed})")
    client = Client(raise_request_exception=False)
    endpoints = tenant_endpoints(client.get("/api/schema/").json())
    before = {t.slug: fingerprint(t) for t in world}
    drawer = ProbeDrawer(world, endpoints, random.Random(seed))
    verdicts = Verdicts(canaries={t.canary: t.slug for t in world})
    started = time.monotonic()
    with override_settings(TENANT_THROTTLE_RATES=NO_THROTTLE):
        while verdicts.probes < wanted:
            probe = drawer.draw()
            response = client.generic(probe.method.upper(), probe.path, _json(probe.data),
                                      content_type="application/json", **probe.headers)
            verdicts.judge(probe, response.status_code, response.content)
    elapsed = time.monotonic() - started
    changed = [f"{slug}: {problem}" for slug, problems in
               ((t.slug, _integrity(before[t.slug], fingerprint(t), t.slug, verdicts)) for t in world)
               for problem in problems]

    replay = f"seed {seed} (RELIABILITY_PROBE_SEED={seed})"
    assert not verdicts.problems, f"{len(verdicts.problems)} problems, {replay}:\n" + "\n".join(verdicts.problems[:20])
    assert not changed, f"data changed by refused requests, {replay}:\n" + "\n".join(changed[:20])
    # The harness sees data when it is there: controls (own tenant, own ids) got answers with it.
    assert verdicts.controls_2xx > verdicts.controls // 2 and verdicts.own_data_seen > 0, (verdicts.statuses, replay)
    assert len(endpoints) >= 19 and {e.method for e in endpoints} >= {"get", "post", "patch", "delete"}
    report(f"cross-tenant probes: {verdicts.probes} probes + {verdicts.controls} controls over {len(world)} "
           f"tenants and {len(endpoints)} operations in {elapsed:.1f} s, leaks 0, 5xx 0, "
           f"statuses {dict(sorted(verdicts.statuses.items()))}, seed {seed}")


def _json(data: dict[str, object] | None) -> str:
    return json.dumps(data) if data is not None else ""


def _integrity(before: dict[str, dict[int, str]], after: dict[str, dict[int, str]], slug: str,
               verdicts: Verdicts) -> list[str]:
    """List seeded rows changed or deleted, and new rows no 2xx of this tenant's own users created."""
    problems = []
    for entity, rows in before.items():
        now = after[entity]
        problems += [f"{entity} {pk} changed or deleted" for pk, digest in rows.items() if now.get(pk) != digest]
        if entity != "membership":  # creating a project adds its creator's membership
            unexplained = set(now) - set(rows) - verdicts.created.get((slug, entity), set())
            problems += [f"{entity} {pk} appeared" for pk in sorted(unexplained)]
    return problems
