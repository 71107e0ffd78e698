"""The migration operation that makes a table append-only in the database itself.

A row trigger refuses every UPDATE and DELETE, whoever sends them (the ORM,
the admin, a psql session), so no code path can rewrite the history a table
keeps. TRUNCATE (an owner's operation, used by retention jobs and test
teardown) is not a row change and stays possible.
"""

from __future__ import annotations

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{table} is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER {table}_append_only_trg BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS {table}_append_only_trg ON {table};
DROP FUNCTION IF EXISTS {table}_append_only();
"""


def append_only(table: str) -> migrations.RunSQL:
    """Return the operation that refuses UPDATE and DELETE on `table` (reversible)."""
    return migrations.RunSQL(CREATE.format(table=table), DROP.format(table=table))
