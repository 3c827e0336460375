#!/usr/bin/env bash
# Install Debian's asciinema for the e2e recording tests (they play a
# recorded cast with `asciinema cat`, under a pty) when missing.
# Idempotent and quiet when it is there.
set -euo pipefail
command -v asciinema >/dev/null && exit 0
echo "asciinema-up: installing asciinema from the Debian archive" >&2
export DEBIAN_FRONTEND=noninteractive
apt=(-o DPkg::Lock::Timeout=600)
if ! apt-get install -y -qq "${apt[@]}" asciinema >/dev/null; then
  apt-get update -qq "${apt[@]}"
  apt-get install -y -qq "${apt[@]}" asciinema >/dev/null
fi
asciinema --version
