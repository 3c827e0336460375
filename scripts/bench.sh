#!/usr/bin/env bash
# Run cmd/iexbench against freshly started servers, once per runtime, and
# print one table of both runs. Each run starts three servers on loopback
# (a warm pool, a cold one, a process-backend one for the fast producer),
# benchmarks them against plain docker run and stops them.
#
#   scripts/bench.sh                 # runc then runsc, the full benchmark
#   RUNTIMES=runc scripts/bench.sh -only prompt,echo
#
# Extra arguments go to every iexbench run. Reports land in $OUT (default
# bench-out/): <runtime>.json, <runtime>.log and table.md. Needs the server
# built, the image and runsc (make build image gvisor).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNTIMES=${RUNTIMES:-runc runsc}
OUT=${OUT:-bench-out}
mkdir -p "$OUT"
go build -o "$OUT/iexbench" ./cmd/iexbench

common=(-idle-timeout 0 -max-lifetime 0 -client-sessions 0 -client-rate 0 -max-sessions 1000)
pids=()
stop_servers() { # SIGTERM drains each server; wait until it has exited
  if ((${#pids[@]})); then
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  pids=()
}
trap stop_servers EXIT

reports=()
for rt in $RUNTIMES; do
  ./bin/iexbox -addr 127.0.0.1:18080 -runtime "$rt" -pool 4 -instance "bench-$rt-warm" "${common[@]}" >"$OUT/$rt-warm.log" 2>&1 &
  pids+=($!)
  ./bin/iexbox -addr 127.0.0.1:18081 -runtime "$rt" -pool 0 -instance "bench-$rt-cold" "${common[@]}" >"$OUT/$rt-cold.log" 2>&1 &
  pids+=($!)
  ./bin/iexbox -addr 127.0.0.1:18082 -backend process -unsafe-no-sandbox -command sh -pool 0 -instance "bench-$rt-process" "${common[@]}" >"$OUT/$rt-process.log" 2>&1 &
  pids+=($!)
  for port in 18080 18081 18082; do # ready: Docker answers and the pool has started filling
    for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  done
  rc=0
  "$OUT/iexbench" -url ws://127.0.0.1:18080/ws -cold-url ws://127.0.0.1:18081/ws \
    -process-url ws://127.0.0.1:18082/ws -runtime "$rt" -cgroup-parent iexbox \
    -json "$OUT/$rt.json" "$@" 2>&1 | tee "$OUT/$rt.log" || rc=$?
  stop_servers
  left=$(docker ps -aq --filter "label=iexbox.instance=bench-$rt-warm" --filter "label=iexbox.instance=bench-$rt-cold" | wc -l)
  echo "bench: $rt done (iexbench rc=$rc), containers left: $left" >&2
  [[ -f $OUT/$rt.json ]] && reports+=("$OUT/$rt.json")
done
((${#reports[@]})) || exit 1
"$OUT/iexbench" -table "$(IFS=,; echo "${reports[*]}")" -markdown | tee "$OUT/table.md"
