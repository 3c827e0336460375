#!/usr/bin/env bash
# Start Debian's PostgreSQL for the store's tests: a cluster of its own in
# /var/lib/iexbox-postgres on 127.0.0.1:${IEXBOX_PG_PORT:-55432}, never the
# packaged system service. Installs the package when missing. Idempotent:
# a running cluster is left as it is. Prints the URL tests use
# (IEXBOX_TEST_POSTGRES). scripts/postgres-down.sh stops it.
set -euo pipefail
port=${IEXBOX_PG_PORT:-55432}
dir=/var/lib/iexbox-postgres
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z $bin ]]; then
  echo "postgres-up: installing postgresql from the Debian archive" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt=(-o DPkg::Lock::Timeout=600)
  if ! apt-get install -y -qq "${apt[@]}" postgresql >/dev/null; then
    apt-get update -qq "${apt[@]}"
    apt-get install -y -qq "${apt[@]}" postgresql >/dev/null
  fi
  # The package starts its own cluster on 5432: the tests never use it.
  if [[ -d /run/systemd/system ]]; then systemctl disable --now --quiet postgresql || true
  else /etc/init.d/postgresql stop >/dev/null 2>&1 || true; update-rc.d postgresql disable >/dev/null 2>&1 || true; fi
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$dir"
[[ $(id -u) == 0 ]] && chown postgres:postgres "$dir"
if [[ ! -f $dir/PG_VERSION ]]; then
  as_pg "$bin/initdb" -D "$dir" -U iexbox --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  # Tests only: no fsync, loopback only, the socket in the cluster's folder.
  as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/log" -w -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
fi
as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U iexbox -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='iexbox_test'" | grep -q 1 ||
  as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U iexbox -d postgres -qc "CREATE DATABASE iexbox_test"
echo "postgres://iexbox@127.0.0.1:$port/iexbox_test?sslmode=disable"
