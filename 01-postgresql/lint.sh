#!/usr/bin/env bash
# lint.sh — this section's hook in `make lint`: sqlc vet prepares every
# query of 05-sqlc on a scratch database built from its schema.sql, so a
# query that PostgreSQL itself rejects fails the build. Needs the stack
# (make up) and psql.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
: "${DATABASE_URL:?DATABASE_URL is not set: run make lint, or eval \"\$(make -s env)\" first}"
: "${DATABASE_ADMIN_URL:?DATABASE_ADMIN_URL is not set: run make lint, or eval \"\$(make -s env)\" first}"
command -v psql >/dev/null || { echo "lint.sh: psql not found (apt-get install postgresql-client)" >&2; exit 1; }

# with_db URL NAME prints URL with its database replaced by NAME.
with_db() {
  local base=${1%%\?*}
  echo "${base%/*}/$2${1#"$base"}"
}

db="sqlc_vet_$$_$RANDOM"
owner=$(sed -E 's#^[a-z]+://([^:@/]+).*#\1#' <<<"$DATABASE_URL")
psql -qX -v ON_ERROR_STOP=1 "$DATABASE_ADMIN_URL" -c "CREATE DATABASE $db OWNER \"$owner\"" >/dev/null
trap 'psql -qX "$DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null' EXIT
psql -qX -v ON_ERROR_STOP=1 "$(with_db "$DATABASE_URL" "$db")" -f 05-sqlc/schema.sql >/dev/null

echo "sqlc vet (05-sqlc)"
cd 05-sqlc
SQLC_VET_DATABASE_URL=$(with_db "$DATABASE_URL" "$db") "$root/.stack/bin/sqlc" vet
