#!/usr/bin/env bash
# Stops the PostgreSQL that .ci/setup.d/10-postgres.sh started.
set -uo pipefail
dir=/tmp/imprint-ci/pg
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n $bin && -f $dir/data/postmaster.pid ]] && runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
rm -rf "$dir" /tmp/imprint-ci/postgres.env
