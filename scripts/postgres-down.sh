#!/usr/bin/env bash
# Stop the test cluster scripts/postgres-up.sh started; its data stays.
set -euo pipefail
dir=/var/lib/iexbox-postgres
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
[[ -f $dir/PG_VERSION ]] || exit 0
if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
else "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true; fi
