#!/usr/bin/env bash
# Make sure a Docker Engine answers on this machine: install Debian's docker.io
# if needed and start dockerd in the background. Idempotent and quiet on success.
set -euo pipefail

# Already up (ours, systemd's, or someone else's): nothing to do.
if docker info >/dev/null 2>&1; then exit 0; fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-up: installing docker.io from the Debian archive" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's engine is 20.10; a newer docker CLI on PATH negotiates the API down.
  apt-get install -y -qq -o DPkg::Lock::Timeout=600 docker.io >/dev/null
fi

# Fresh CI machines have no init system running dockerd for us. setsid+nohup so
# the daemon outlives the calling shell/make and gets no SIGHUP from it; stdin
# from /dev/null so it never holds a terminal.
log=/var/log/iexbox-dockerd.log
# A previous dockerd may have died leaving stale pid files behind: its own,
# and its containerd's (a killed containerd can linger as a zombie, which
# kill -0 still sees, so check the process state too), which a new dockerd
# would wait on until it times out.
stale() { [[ -f $1 ]] && { ! kill -0 "$(cat "$1")" 2>/dev/null ||
  grep -q '^State:.*Z' "/proc/$(cat "$1")/status" 2>/dev/null; }; }
for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
  if stale "$pidfile"; then rm -f "$pidfile"; fi
done
if ! pgrep -x dockerd >/dev/null; then
  setsid nohup dockerd >>"$log" 2>&1 </dev/null &
fi

for _ in $(seq 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
echo "docker-up: dockerd did not answer within 60 s; see $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
