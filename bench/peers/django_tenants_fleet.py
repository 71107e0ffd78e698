"""The fleet benchmark's django-tenants contender: `migrate_schemas --executor=multiprocessing` over N schemas.

The peer of bench/peers/django_tenants_app with its fleet settings
(`settings_fleet`): control database `tessera_bench_dt_fleet` on server b,
the tenant apps of a Tessera tenant database plus `tests.fleetapp`.

Setup, outside the timings, once per fleet size (`build`, in a process of
its own under the peer's settings): the public schema by `migrate_schemas
--shared`; a base schema by `migrate_schemas --schema` (fleetapp v1); then N
tenant schemas cloned from it by django-tenants' own `clone_schema` SQL
function (what its `TENANT_BASE_SCHEMA` option runs; `DATA` mode copies
`django_migrations` too, so the `migrate_schemas --fake` that
`Client.save()` adds after a clone would change nothing and is skipped), and
one `Client` row per schema. The base schema is dropped, and the database is
renamed to a seed; before every repeat the control database is created from
the seed (`reset`), so each repeat starts from the same N schemas at v1.

    DJANGO_SETTINGS_MODULE=bench.peers.django_tenants_app.settings_fleet \
        python -m bench.peers.django_tenants_fleet <schemas>                 (build; prints JSON)
"""

from __future__ import annotations

import json
import sys
import time

from bench.commands import timed_command

SETTINGS = "bench.peers.django_tenants_app.settings_fleet"
SERVER = "b"
CONTROL_DB = "tessera_bench_dt_fleet"
SEED_DB = "tessera_bench_dt_fleet_seed"
BASE_SCHEMA = "fleet_base"


def schema_names(count: int) -> list[str]:
    return [f"fleet_{i:04d}" for i in range(count)]


# --- in the benchmark's process (bench.settings): server-level operations and timed subprocesses ---

def build(schemas: int) -> float:
    """Create the seed database with `schemas` tenant schemas at v1; return the clone time per schema."""
    drop()
    _, out = timed_command(["-m", __name__, str(schemas)], settings=SETTINGS, env=_env("v1", 1))
    _server_sql(f'ALTER DATABASE "{CONTROL_DB}" RENAME TO "{SEED_DB}"')
    return float(json.loads(out.strip().splitlines()[-1])["clone_s_per_schema"])


def reset() -> None:
    """Recreate the control database from the seed: N schemas at v1, none migrated since."""
    from tenants import dbops

    dbops.drop_database(SERVER, CONTROL_DB)
    dbops.create_database(SERVER, CONTROL_DB, template=SEED_DB)


def migrate_schemas(version: str, parallel: int) -> float:
    """Time `manage.py migrate_schemas --executor=multiprocessing` (public schema, then every tenant)."""
    seconds, _ = timed_command(["manage.py", "migrate_schemas", "--executor=multiprocessing", "--noinput"],
                               settings=SETTINGS, env=_env(version, parallel))
    return seconds


def schemas_with_color() -> int:
    """Count the tenant schemas whose widget table has fleetapp 0002's column (proof the work was done)."""
    import psycopg2

    from core.dbservers import configured_servers

    config = configured_servers()[SERVER]
    conn = psycopg2.connect(host=config.primary.host, port=config.primary.port, user=config.user,
                            password=config.password, dbname=CONTROL_DB)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'fleetapp_widget' "
                           "AND column_name = 'color' AND table_schema LIKE %s", ["fleet\\_%"])
            return int(cursor.fetchone()[0])
    finally:
        conn.close()


def drop() -> None:
    from tenants import dbops

    for name in (CONTROL_DB, SEED_DB):
        dbops.drop_database(SERVER, name)


def _env(version: str, parallel: int) -> dict[str, str]:
    return {"BENCH_FLEET_MIGRATIONS": version, "BENCH_FLEET_PARALLEL": str(parallel)}


def _server_sql(statement: str) -> None:
    from tenants import dbops

    with dbops.server_connection(SERVER) as conn, conn.cursor() as cursor:
        cursor.execute(statement)


# --- in the build process, under the peer's settings ---

def create_schemas(count: int) -> float:
    """Create the control database and `count` tenant schemas at v1; return the clone time per schema."""
    from django.core.management import call_command
    from django.db import connection, connections
    from django_tenants.clone import CloneSchema

    from bench.peers.django_tenants_app.models import Client
    from tenants import dbops

    dbops.create_database(SERVER, CONTROL_DB)
    call_command("migrate_schemas", shared=True, verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{BASE_SCHEMA}"')
    call_command("migrate_schemas", tenant=True, schema_name=BASE_SCHEMA, verbosity=0, interactive=False)
    started = time.perf_counter()
    clone = CloneSchema()
    for name in schema_names(count):
        clone.clone_schema(BASE_SCHEMA, name, "DATA")
    per_schema = (time.perf_counter() - started) / max(count, 1)
    Client.objects.bulk_create([Client(schema_name=name, name=name) for name in schema_names(count)])
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{BASE_SCHEMA}" CASCADE')
    connections.close_all()  # the seed is copied from this database: nobody may stay connected
    return per_schema


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps({"clone_s_per_schema": create_schemas(int(sys.argv[1]))}))
