#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on 127.0.0.1 for the tests that run Imprint on PostgreSQL.
# Writes the connection string to /tmp/imprint-ci/postgres.env (PG_CONN=…); .ci/teardown.d/10-postgres.sh stops it.
set -euo pipefail
port=${IMPRINT_PG_PORT:-55432}
dir=/tmp/imprint-ci/pg
mkdir -p /tmp/imprint-ci
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_postgres() { runuser -u postgres -- "$@"; }
if [[ -f $dir/data/postmaster.pid ]]; then as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
rm -rf "$dir"; mkdir -p "$dir"; chown postgres:postgres "$dir"
as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
as_postgres "$bin/psql" -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -q -c "CREATE ROLE imprint LOGIN CREATEDB PASSWORD 'imprint'"
echo "PG_CONN=Host=127.0.0.1;Port=$port;Username=imprint;Password=imprint;Database=postgres" >/tmp/imprint-ci/postgres.env
echo "postgres on 127.0.0.1:$port"
