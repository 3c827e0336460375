#!/usr/bin/env bash
# Install Debian's Chromium for the e2e browser tests when it is missing,
# and a Hangul font (fonts-nanum) so the Korean test's screenshot shows
# Korean rather than boxes.
set -euo pipefail
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
dpkg -s fonts-nanum >/dev/null 2>&1 || missing+=(fonts-nanum)
((${#missing[@]})) || exit 0
echo "chromium-up: installing ${missing[*]} from the Debian archive" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Wait for a concurrent apt/dpkg (e.g. unattended upgrades) instead of failing.
apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
/usr/bin/chromium --version
