"""Create (or drop) one contender's database and data, from that contender's own settings.

    DJANGO_SETTINGS_MODULE=<contender settings> python -m bench.contenders.prepare on|off|dt [--drop]

Prints one JSON line: the Host header, token and task ids a load client uses.
Every contender gets the same rows from `bench.seed`.
"""

from __future__ import annotations

import argparse
import json

import django

HOST = "bench-http.localhost"
SLUG = "bench-http"
DT_SCHEMA = "bench_http"
SPREAD_PREFIX = "bench-s"  # --tenants N: the seeded tenant copied N times as bench-s0000..


def spread_slugs(count: int) -> list[str]:
    return [f"{SPREAD_PREFIX}{i:04d}" for i in range(count)]


def prepare_on(projects: int, tasks: int, tenants: int = 0) -> list[int]:
    from bench import world

    world.recreate_control()
    spec, = world.tenants_create([SLUG], "a")
    ids = world.tenant_seed(spec, projects=projects, tasks_per_project=tasks, direct=bool(tenants))
    if tenants:  # file copies of the seeded database, one per tenant
        world.tenants_create(spread_slugs(tenants), "a", source=spec.database)
    world.wait_for_replicas("a", timeout=120)
    return ids


def prepare_off(projects: int, tasks: int, tenants: int = 0) -> list[int]:
    from django.conf import settings
    from django.core.management import call_command

    from bench.seed import seed
    from tenants import dbops

    name = settings.DATABASES["default"]["NAME"]
    dbops.drop_database("a", name)
    dbops.create_database("a", name)
    dbops.apply_database_settings("a", name)  # the timeouts tenant databases get
    call_command("migrate", verbosity=0, interactive=False)
    return seed(projects=projects, tasks_per_project=tasks)


def prepare_dt(projects: int, tasks: int, tenants: int = 0) -> list[int]:
    from django.conf import settings
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from bench.peers.django_tenants_app.models import Client, Domain
    from bench.seed import seed
    from tenants import dbops

    name = settings.DATABASES["default"]["NAME"]
    dbops.drop_database("a", name)
    dbops.create_database("a", name)
    call_command("migrate_schemas", shared=True, verbosity=0, interactive=False)
    client = Client(schema_name=DT_SCHEMA, name=SLUG)
    client.save(verbosity=0)  # creates the schema and migrates the tenant apps into it
    Domain.objects.create(domain=HOST, tenant=client, is_primary=True)
    with schema_context(DT_SCHEMA):
        ids = seed(projects=projects, tasks_per_project=tasks)
    if tenants:
        from bench.peers.spread import schemas_copy

        schemas_copy(DT_SCHEMA, spread_slugs(tenants))
    return ids


def drop(contender: str) -> None:
    from django.conf import settings

    from tenants import dbops

    if contender == "on":
        from bench import world

        world.drop_tenant_databases()
    dbops.drop_database("a", settings.DATABASES["default"]["NAME"])


PREPARE = {"on": prepare_on, "off": prepare_off, "dt": prepare_dt}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=sorted(PREPARE))
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=50, help="tasks per project")
    parser.add_argument("--tenants", type=int, default=0,
                        help="also copy the seeded tenant N times (bench-s0000..; tenancy off ignores it)")
    parser.add_argument("--drop", action="store_true")
    args = parser.parse_args()
    django.setup()
    if args.drop:
        drop(args.contender)
        return
    from bench.seed import TOKEN

    ids = PREPARE[args.contender](args.projects, args.tasks, args.tenants)
    print(json.dumps({"host": HOST, "token": TOKEN, "task_ids": ids}))


if __name__ == "__main__":
    main()
