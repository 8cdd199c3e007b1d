#!/bin/sh
# Start a local PostgreSQL for the hub's postgres-marked tests and print its URL.
#
# Idempotent; meant for root on Debian bookworm (CI containers).  Installs the server if
# missing, starts the default cluster, trusts TCP connections from 127.0.0.1 (a throwaway
# test server: never use this on a shared machine), and creates the database.
# Usage:  export SENDX_TEST_POSTGRES_URL="$(.ci/postgres.sh)"
set -eu

DB="${SENDX_TEST_POSTGRES_DB:-sendx_test}"
PORT="${SENDX_TEST_POSTGRES_PORT:-5432}"

log() { echo "postgres.sh: $*" >&2; }

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi

VERSION="$(ls /usr/lib/postgresql | sort -n | tail -1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$VERSION main"; then
    log "creating cluster $VERSION/main"
    pg_createcluster "$VERSION" main --port "$PORT" >&2
fi

HBA="/etc/postgresql/$VERSION/main/pg_hba.conf"
RULE="host    all    all    127.0.0.1/32    trust"
if ! grep -qxF "$RULE" "$HBA"; then
    log "trusting 127.0.0.1 in $HBA"
    # Prepend so it wins over the packaged scram rule for 127.0.0.1.
    { echo "$RULE"; cat "$HBA"; } > "$HBA.new" && mv "$HBA.new" "$HBA"
    chown postgres:postgres "$HBA"
    RELOAD=1
fi

if ! pg_lsclusters -h | awk -v v="$VERSION" '$1==v && $2=="main" {print $4}' | grep -q online; then
    log "starting cluster $VERSION/main"
    pg_ctlcluster "$VERSION" main start >&2
elif [ "${RELOAD:-0}" = 1 ]; then
    pg_ctlcluster "$VERSION" main reload >&2
fi

PORT="$(pg_lsclusters -h | awk -v v="$VERSION" '$1==v && $2=="main" {print $3}')"
for _ in 1 2 3 4 5 6 7 8 9 10; do
    if su postgres -c "psql -p $PORT -Atqc 'select 1'" >/dev/null 2>&1; then break; fi
    sleep 1
done
if ! su postgres -c "psql -p $PORT -Atqc \"select 1 from pg_database where datname = '$DB'\"" | grep -q 1; then
    log "creating database $DB"
    su postgres -c "createdb -p $PORT $DB" >&2
fi

echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB"
