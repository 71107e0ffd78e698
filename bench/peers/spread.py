"""Many django-tenants schemas, fast: one migrated and seeded schema, copied by SQL.

django-tenants' own `clone_schema` slows down with every schema already in
the database (past a few hundred, one clone ran for minutes), so the spread
benchmark copies the seeded schema another way: `pg_dump --schema` of it once
(plain SQL, rows as INSERTs), the schema name replaced for each copy, run in
batches; then one `Client` and one `Domain` row per copy (`bulk_create`, so
`Client.save()` creates nothing more). Every copy holds the same rows, ids
and token as the original, like Tessera's cloned databases.
"""

from __future__ import annotations

import os
import re
import subprocess

import psycopg2
from django.conf import settings

from infra.local import system

BATCH = 50  # schemas per transaction


def schema_dump(schema: str) -> str:
    """Return the SQL that recreates `schema` with its rows (psql meta-commands removed)."""
    db = settings.DATABASES["default"]
    proc = subprocess.run(
        [system.binary("pg_dump"), "--schema", schema, "--inserts", "--no-owner", "--no-privileges",
         "-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"], db["NAME"]],
        env={**os.environ, "PGPASSWORD": db["PASSWORD"]}, capture_output=True, text=True, check=True)
    return "\n".join(line for line in proc.stdout.splitlines() if not line.startswith("\\"))


def schemas_copy(source: str, slugs: list[str]) -> None:
    """Create one schema per slug (`bench-s0001` -> `bench_s0001`) as a copy of `source`, with its domain."""
    from bench.peers.django_tenants_app.models import Client, Domain

    dump = schema_dump(source)
    pattern = re.compile(rf"\b{re.escape(source)}\b")
    db = settings.DATABASES["default"]
    conn = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
                            dbname=db["NAME"])
    try:
        for start in range(0, len(slugs), BATCH):
            with conn, conn.cursor() as cursor:  # one transaction per batch
                for slug in slugs[start:start + BATCH]:
                    cursor.execute(pattern.sub(slug.replace("-", "_"), dump))
    finally:
        conn.close()
    clients = Client.objects.bulk_create(Client(schema_name=slug.replace("-", "_"), name=slug) for slug in slugs)
    Domain.objects.bulk_create(Domain(domain=f"{client.name}.localhost", tenant=client, is_primary=True)
                               for client in clients)
