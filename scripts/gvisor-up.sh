#!/usr/bin/env bash
# Build the pinned gVisor runsc from the Go module proxy (Debian's runsc is
# from 2022 and has only the slow ptrace platform), install it, and register
# it with dockerd as the OCI runtime "runsc". Idempotent and quiet when done.
#
# --network=none: runsc refuses to start a container whose network namespace
#   is the root one without it, even under `docker run --network none`.
# --platform=systrap: the fast platform of current gVisor.
# --oci-seccomp: enforce the container's seccomp profile inside gVisor too,
#   so a call iexbox's profile removes is refused under both runtimes. The
#   server's start-up probe refuses a runsc that does not (a denied call
#   must fail).
set -euo pipefail
export PATH=/usr/local/go/bin:$PATH

RUNSC_VERSION=${RUNSC_VERSION:-v0.0.0-20260905035102-160fafc42237}
BIN=/usr/local/bin/runsc
STAMP=/usr/local/lib/iexbox-runsc.version
DAEMON_JSON=/etc/docker/daemon.json

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/docker-up.sh"

if [[ ! -x $BIN || "$(cat "$STAMP" 2>/dev/null)" != "$RUNSC_VERSION" ]]; then
  echo "gvisor-up: building runsc $RUNSC_VERSION (a few minutes)" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  CGO_ENABLED=0 GOBIN=$tmp go install "gvisor.dev/gvisor/runsc@$RUNSC_VERSION"
  install -m 0755 "$tmp/runsc" "$BIN"
  mkdir -p "$(dirname "$STAMP")"
  echo "$RUNSC_VERSION" > "$STAMP"
fi

want='{"path":"'$BIN'","runtimeArgs":["--network=none","--platform=systrap","--oci-seccomp"]}'
# registered: dockerd has loaded a runsc entry that is this binary with
# --oci-seccomp among its own arguments (a flag elsewhere in daemon.json,
# or in another runtime's entry, proves nothing).
registered() {
  docker info --format '{{json .Runtimes}}' 2>/dev/null | python3 -c '
import json, sys
want = json.loads(sys.argv[1])
rt = json.load(sys.stdin).get("runsc") or {}
ok = rt.get("path") == want["path"] and "--oci-seccomp" in (rt.get("runtimeArgs") or [])
sys.exit(0 if ok else 1)' "$want"
}
if registered; then
  exit 0
fi
mkdir -p "$(dirname "$DAEMON_JSON")"
# Merge into any existing daemon.json rather than overwrite an operator's settings.
python3 - "$DAEMON_JSON" "$want" <<'PY'
import json, os, sys
path, want = sys.argv[1], json.loads(sys.argv[2])
cfg = {}
if os.path.exists(path) and os.path.getsize(path) > 0:
    with open(path) as f:
        cfg = json.load(f)
cfg.setdefault("runtimes", {})["runsc"] = want
with open(path + ".tmp", "w") as f:
    json.dump(cfg, f, indent=2)
os.replace(path + ".tmp", path)
PY
# SIGHUP makes dockerd reload its runtimes without stopping containers.
pkill -HUP -x dockerd
for _ in $(seq 50); do
  registered && exit 0
  sleep 0.2
done
echo "gvisor-up: dockerd did not register runsc with --oci-seccomp; see $DAEMON_JSON" >&2
exit 1
