#!/bin/sh
# Run once by the postgres image's entrypoint, when the data volume is new
# (files in /docker-entrypoint-initdb.d). ragd gets an ordinary role owning
# its database, so PostgreSQL's superuser_reserved_connections stay free for
# an operator's `psql -U postgres` when ragd has used its whole budget.
# statement_timeout is also set on the role: through PgBouncer ragd sends no
# startup parameters (metadata.pgbouncer = true), so the role's default
# applies there; connected directly, ragd's own setting overrides it.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v pw="${RAGD_DB_PASSWORD:?RAGD_DB_PASSWORD is not set}" <<'SQL'
CREATE ROLE ragd LOGIN PASSWORD :'pw';
ALTER ROLE ragd SET statement_timeout = '10s';
CREATE DATABASE ragd OWNER ragd;
SQL
