#!/usr/bin/env bash
# Install Debian's HAProxy and nginx for the e2e proxy tests when missing.
# The tests run both binaries themselves, on free loopback ports with
# configs of their own: neither may stay behind as a system service on
# ports 80 and 443. Idempotent and quiet when both are there.
set -euo pipefail
need=()
for pkg in haproxy nginx; do
  [[ -x /usr/sbin/$pkg ]] || need+=("$pkg")
done
((${#need[@]})) || exit 0

echo "proxies-up: installing ${need[*]} from the Debian archive" >&2
export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrent apt/dpkg (e.g. unattended upgrades) instead of failing.
apt=(-o DPkg::Lock::Timeout=600)
install() { apt-get install -y -qq "${apt[@]}" "${need[@]}" >/dev/null; }
# Refresh the package lists only when they lack a package or are too old
# to fetch it.
if ! apt-cache show "${need[@]}" >/dev/null 2>&1 || ! install; then
  apt-get update -qq "${apt[@]}"
  install
fi

# The packages' maintainer scripts start the service unless a policy
# (/usr/sbin/policy-rc.d) forbids it: stop it and keep it from starting at
# boot.
for svc in "${need[@]}"; do
  if [[ -d /run/systemd/system ]]; then
    systemctl disable --now --quiet "$svc"
  else
    update-rc.d "$svc" disable >/dev/null 2>&1 || true
    # The init script itself: invoke-rc.d would ask the same policy.
    "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
  fi
  if pid=$(cat "/run/$svc.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
    echo "proxies-up: the $svc service still runs (pid $pid) after stopping it" >&2
    exit 1
  fi
done
haproxy -v | sed -n 1p
nginx -v
