#!/usr/bin/env bash
# Install Debian's Chromium for the e2e browser tests when it is missing.
set -euo pipefail
[[ -x /usr/bin/chromium ]] && exit 0
echo "chromium-up: installing chromium from the Debian archive" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Wait for a concurrent apt/dpkg (e.g. unattended upgrades) instead of failing.
apt-get install -y -qq -o DPkg::Lock::Timeout=600 chromium >/dev/null
/usr/bin/chromium --version
