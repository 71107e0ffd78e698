#!/usr/bin/env bash
# First start of a primary: a replication role for its streaming replicas, and
# permission for the app role to create tenant databases.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${POSTGRES_PASSWORD}';
ALTER ROLE ${POSTGRES_USER} CREATEDB;
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
