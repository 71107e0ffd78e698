"""Sign-in cost and isolation on a real gunicorn (production config, Argon2, bounded password checks).

Measured, against one gunicorn (2 workers x 4 threads) on loopback:

* one sign-in (`POST /api/auth/token/`, right password), p50 over sequential calls;
* `POST /api/platform/tenants/` (the request only: it hashes the admin password), p50;
* another tenant's `GET /api/me/` p99, idle and while 20 threads send bad sign-ins to
  the first tenant without pause, and the ratio of the two (the baseline is measured in
  the same run, right before).

The per-IP and per-account budgets are lifted (bench/login_settings.py): all clients
here share 127.0.0.1, and the case that matters is an attack spread over many
addresses, which only the per-process bound on password checks stops.

    python -m bench.login [--quick] [--logins 30] [--creates 10] [--reads 300]     (services up)
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections import Counter
from typing import Any

from bench.common import percentile, print_table, setup_django, sized_options, write_result
from bench.stack import Server, server_port

FULL = {"logins": 30, "creates": 10, "reads": 300, "attackers": 20, "workers": 2, "threads": 4}
QUICK = {"logins": 3, "creates": 2, "reads": 20, "attackers": 4, "workers": 1, "threads": 2}
PREFIX = "bench-login-"
PASSWORD = "bench-pass-123"


def call(port: int, method: str, path: str, body: dict[str, Any] | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, float]:
    """Send one request on a new connection; return its status and seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    try:
        conn.request(method, path, json.dumps(body) if body is not None else None,
                     {"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


def prepare() -> dict[str, str]:
    """Provision two tenants (in this process) and a platform admin; return tokens and hosts."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from routers import tenant_context
    from tenants import provisioning, selectors, services

    call_command("migrate", verbosity=0)
    services.servers_sync()
    cleanup()
    admin, _ = User.objects.using("default").get_or_create(username="bench-login-admin",
                                                           defaults={"is_staff": True})
    admin.set_password(PASSWORD)
    admin.save(using="default")
    slugs = {}
    for role, server in (("attacked", "a"), ("bystander", "b")):
        tenant, _ = services.tenant_create(slug=f"{PREFIX}{role}", name=role, admin_email=f"o@{role}.test",
                                           admin_password=PASSWORD, server=server, enqueue=False)
        job = selectors.latest_job(tenant=tenant)
        assert job is not None and provisioning.job_run(job_id=job.pk) == "done"
        slugs[role] = tenant.slug
    bystander = selectors.tenant_get(slug=slugs["bystander"], primary=True)
    assert bystander is not None
    with tenant_context(selectors.tenant_spec(bystander)):
        user = User.objects.get(username="o@bystander.test")
        token = Token.objects.get_or_create(user=user)[0].key
    return {"platform_token": Token.objects.using("default").get_or_create(user=admin)[0].key,
            "attacked": f"{slugs['attacked']}.localhost", "bystander": f"{slugs['bystander']}.localhost",
            "bystander_token": token}


def cleanup() -> None:
    from bench.provisioning import cleanup as drop_tenants
    from core.celery import app

    drop_tenants(PREFIX)
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("tessera-bench-login")


def reads_p99(port: int, world: dict[str, str], count: int) -> tuple[float, float]:
    """Return p50 and p99 seconds of the bystander's sequential `GET /api/me/`."""
    headers = {"Host": world["bystander"], "Authorization": f"Token {world['bystander_token']}"}
    times = []
    for _ in range(count):
        status, seconds = call(port, "GET", "/api/me/", headers=headers)
        assert status == 200, status
        times.append(seconds)
    return statistics.median(times), percentile(times, 0.99)


def attack(port: int, world: dict[str, str], threads: int, stop: threading.Event) -> Counter[int]:
    """Start `threads` bad sign-in loops until `stop`; return the live status counter."""
    statuses: Counter[int] = Counter()

    def loop(n: int) -> None:
        body = {"username": f"nobody-{n}", "password": "wrong-password"}
        while not stop.is_set():
            statuses[call(port, "POST", "/api/auth/token/", body, {"Host": world["attacked"]})[0]] += 1

    for n in range(threads):
        threading.Thread(target=loop, args=(n,), daemon=True).start()
    return statuses


def measure(port: int, world: dict[str, str], sizes: dict[str, int]) -> dict[str, Any]:
    good = {"username": "o@attacked.test", "password": PASSWORD}
    logins = [call(port, "POST", "/api/auth/token/", good, {"Host": world["attacked"]}) for _ in
              range(sizes["logins"] + 1)][1:]
    assert {status for status, _ in logins} == {200}, logins
    creates = []
    for i in range(sizes["creates"]):
        body = {"slug": f"{PREFIX}new-{i}", "name": "n", "admin_email": f"o@n{i}.test", "admin_password": PASSWORD}
        status, seconds = call(port, "POST", "/api/platform/tenants/", body,
                               {"Authorization": f"Token {world['platform_token']}"})
        assert status == 202, status
        creates.append(seconds)
    idle_p50, idle_p99 = reads_p99(port, world, sizes["reads"])
    stop = threading.Event()
    statuses = attack(port, world, sizes["attackers"], stop)
    time.sleep(1.0)  # let the attack reach full speed before measuring
    try:
        busy_p50, busy_p99 = reads_p99(port, world, sizes["reads"])
    finally:
        stop.set()
    return {"login_p50_s": statistics.median(s for _, s in logins),
            "create_tenant_p50_s": statistics.median(creates),
            "me_idle_p50_s": idle_p50, "me_idle_p99_s": idle_p99,
            "me_attacked_p50_s": busy_p50, "me_attacked_p99_s": busy_p99,
            "attacked_over_idle_p99": busy_p99 / idle_p99,
            "attack_statuses": {str(k): v for k, v in sorted(statuses.items())}}


def main() -> None:
    _, sizes = sized_options(FULL, QUICK)
    setup_django("bench.login_settings")
    world = prepare()
    server = Server("login", "bench.login_settings", server_port(9), sizes["workers"], sizes["threads"])
    server.start()
    try:
        result = measure(server.port, world, sizes)
    finally:
        server.stop()
        cleanup()
    rows = [("one sign-in, p50", f"{result['login_p50_s'] * 1000:.0f}"),
            ("POST /api/platform/tenants/, p50", f"{result['create_tenant_p50_s'] * 1000:.0f}"),
            ("other tenant GET /api/me/ p99, idle", f"{result['me_idle_p99_s'] * 1000:.0f}"),
            (f"... p99 during {sizes['attackers']} parallel bad sign-ins",
             f"{result['me_attacked_p99_s'] * 1000:.0f}"),
            ("attacked / idle (p99)", f"{result['attacked_over_idle_p99']:.2f}x")]
    print_table("Sign-in cost and isolation (ms)", rows, ("measure", "value"))
    print(f"bad sign-in answers during the attack: {result['attack_statuses']}")
    print(f"\nwritten {write_result('login', {'sizes': sizes, **result})}")


if __name__ == "__main__":
    main()
