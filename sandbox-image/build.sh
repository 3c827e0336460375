#!/usr/bin/env bash
# Build the sandbox image iexbox-sandbox:latest without any container registry:
# debootstrap a minimal Debian with Elixir from the machine's own apt mirror,
# harden the rootfs, and `docker import` it. Skips all work when the image's
# iexbox.image.hash label already matches the build inputs.
#
# Env: IMAGE (default iexbox-sandbox:latest), SUITE (default trixie),
#      MIRROR (default: read from /etc/apt), FORCE=1 to rebuild anyway.
# A toolchain's image (`iexbox toolchains`, which runs this script as it is
# embedded in the binary) also passes: PACKAGES (its Debian packages,
# space-separated, added to INCLUDE), LIB_DIR (a folder whose lib/**/*.ex are
# compiled onto the code path), HASH (the toolchain's content hash, instead
# of this folder's) and LABELS (more LABEL lines, key=value, one a line).
# Downloaded .debs are kept in DEB_CACHE (default /var/cache/iexbox-debs) by
# suite, so a second build of the same packages downloads only the indexes.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGE=${IMAGE:-iexbox-sandbox:latest}
SUITE=${SUITE:-trixie}             # trixie: Elixir 1.18 / OTP 27 (bookworm only has 1.14 / OTP 25)
INCLUDE=${INCLUDE:-elixir,erlang-base}  # extra Debian packages go here (comma-separated)
PACKAGES=${PACKAGES:-}
LIB_DIR=${LIB_DIR:-}
LABELS=${LABELS:-}
DEB_CACHE=${DEB_CACHE:-/var/cache/iexbox-debs}
if [[ -n $PACKAGES ]]; then INCLUDE="$INCLUDE,${PACKAGES// /,}"; fi
USER_ID=10001                      # must match what the server passes as --user

log() { echo "build.sh: $*" >&2; }

# --- content hash of the build inputs --------------------------------------
# Every file in sandbox-image/ except docs (this script, extra/, ...), plus the
# suite and package list, so any change to them produces a new image.
hash=${HASH:-$(
  cd "$here"
  { find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    echo "suite=$SUITE include=$INCLUDE"; } | sha256sum | cut -c1-64
)}

if [[ -x $here/../scripts/docker-up.sh ]]; then "$here/../scripts/docker-up.sh"; fi
# One build at a time (parallel `make image`/e2e runs); the loser re-checks the hash.
exec 9>"/var/lock/iexbox-image-${hash:0:12}.lock"
flock 9
current=$(docker image inspect "$IMAGE" --format '{{ index .Config.Labels "iexbox.image.hash" }}' 2>/dev/null || true)
if [[ "$current" == "$hash" && "${FORCE:-}" != 1 ]]; then
  echo "image up to date ($IMAGE, hash ${hash:0:12})"
  exit 0
fi
old_id=$(docker image inspect "$IMAGE" --format '{{.Id}}' 2>/dev/null || true)

# --- mirror: first Debian main archive in this machine's apt sources ---------
# Never hard-coded: CI machines point at whatever mirror they are allowed to use.
find_mirror() {
  {
    # deb822 stanzas (paragraph mode): enabled, Types has "deb", component main,
    # not a security suite. Print the first URI of each.
    for f in /etc/apt/sources.list.d/*.sources; do
      [[ -f $f ]] || continue
      awk -v RS= -F'\n' '{
        types=""; uris=""; suites=""; comps=""; enabled="yes"
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/)      types = $i
          if ($i ~ /^URIs:/)       uris = $i
          if ($i ~ /^Suites:/)     suites = $i
          if ($i ~ /^Components:/) comps = $i
          if ($i ~ /^Enabled:/)    enabled = tolower($i)
        }
        if (enabled ~ /no/ || types !~ /[: ]deb( |$)/ || comps !~ / main( |$)/) next
        if (suites ~ /security/ || uris ~ /security/) next
        split(uris, u, /[ \t]+/); print u[2]
      }' "$f"
    done
    # One-line format: deb [options] URI suite components...
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -f $f ]] || continue
      sed -E -n 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//p' "$f" |
        awk '$1 !~ /security/ && $2 !~ /security/ && / main( |$)/ { print $1 }'
    done
  } | awk '{ sub(/\/+$/, "") } /\/debian$/ { print; found=1; exit } NR==1 { first=$0 }
           END { if (!found && first != "") print first }'
}
MIRROR=${MIRROR:-$(find_mirror)}
[[ -n "$MIRROR" ]] || { log "no Debian archive found in /etc/apt sources; set MIRROR=..."; exit 1; }

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 debootstrap >/dev/null
fi

# --- debootstrap --------------------------------------------------------------
# /var/tmp, not /tmp: /tmp may be a nodev/noexec tmpfs where debootstrap fails.
work=$(mktemp -d "${TMPDIR:-/var/tmp}/iexbox-rootfs.XXXXXX")
root=$work/rootfs
tmp_tag=iexbox-build:${hash:0:20}
cleanup() {
  # debootstrap mounts /proc and /sys inside the target; never rm through a mount.
  if [[ -d $root ]]; then
    findmnt -rn -o TARGET | grep "^$root/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  fi
  rm -rf --one-file-system "$work"
  docker rmi "$tmp_tag" >/dev/null 2>&1 || true
}
trap cleanup EXIT

start=$SECONDS
log "debootstrap $SUITE from $MIRROR (about a minute)"
# Releases newer than this host's debootstrap (forky on bookworm) build with
# the script of sid, which every release since has followed.
script=()
if [[ ! -e /usr/share/debootstrap/scripts/$SUITE ]]; then script=(/usr/share/debootstrap/scripts/sid); fi
mkdir -p "$DEB_CACHE/$SUITE"
if ! debootstrap --variant=minbase --cache-dir="$DEB_CACHE/$SUITE" --include="$INCLUDE" \
    "$SUITE" "$root" "$MIRROR" "${script[@]}" >"$work/debootstrap.log" 2>&1; then
  # A package the archive does not have: say which, as apt would.
  grep -E "Couldn't find these debs|E: " "$work/debootstrap.log" >&2 || true
  tail -n 30 "$work/debootstrap.log" >&2
  [[ -f $root/debootstrap/debootstrap.log ]] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
  log "debootstrap failed"; exit 1
fi

# --- harden and slim the rootfs ------------------------------------------------
# Unprivileged user; HOME is a tmpfs at run time but exists for plain runs too.
echo "iex:x:$USER_ID:$USER_ID:iex:/home/iex:/bin/sh" >>"$root/etc/passwd"
echo "iex:x:$USER_ID:"                              >>"$root/etc/group"
[[ -f $root/etc/shadow ]] && echo "iex:!:20000::::::" >>"$root/etc/shadow"
install -d -m 0700 -o "$USER_ID" -g "$USER_ID" "$root/home/iex"

# The versions the image really has, for its labels (`ready`, /toolchains),
# and the OTP applications each toolchain package brings, for its check.
elixir_vsn=$(chroot "$root" /usr/bin/env HOME=/tmp /usr/bin/elixir -e 'IO.write(System.version())')
otp_vsn=$(cat "$root"/usr/lib/erlang/releases/*/OTP_VERSION | head -n1)
pkg_vsns=""
install -d "$root/opt/iexbox/toolchain"
: >"$root/opt/iexbox/toolchain/apps"
for pkg in $PACKAGES; do
  v=$(chroot "$root" dpkg-query -W -f='${Version}' "$pkg")
  pkg_vsns="${pkg_vsns:+$pkg_vsns,}$pkg=$v"
  for list in "$root/var/lib/dpkg/info/$pkg.list" "$root/var/lib/dpkg/info/$pkg":*.list; do
    [[ -f $list ]] || continue
    sed -E -n 's|.*/lib/([^/]+)/ebin$|\1|p' "$list" | sed -E 's/-[0-9][0-9.]*$//' | sed "s/^/$pkg /"
  done >>"$root/opt/iexbox/toolchain/apps"
done
# The lesson's own modules, compiled by this Elixir onto the code path
# (ERL_LIBS); a module that does not compile names its file.
if [[ -n $LIB_DIR ]]; then
  install -d "$root/tmp/toolchain" "$root/opt/iexbox/lib/toolchain/ebin"
  cp -a "$LIB_DIR/." "$root/tmp/toolchain/"
  if ! (cd "$root/tmp/toolchain" && find lib -name '*.ex' -print0 | LC_ALL=C sort -z | xargs -0 \
        chroot "$root" /usr/bin/env HOME=/tmp /bin/sh -c 'cd /tmp/toolchain && exec elixirc --warnings-as-errors -o /opt/iexbox/lib/toolchain/ebin "$@"' elixirc) >&2; then
    log "lib/ does not compile"; exit 1
  fi
  rm -rf "$root/tmp/toolchain"
fi
(cd "$root/opt/iexbox/lib/toolchain/ebin" 2>/dev/null && ls -- *.beam 2>/dev/null | sed 's/\.beam$//') >"$root/opt/iexbox/toolchain/modules" || true

# No setuid/setgid binaries: nothing in the sandbox may gain privileges.
find "$root" -xdev -perm /6000 -type f -exec chmod ug-s {} +

# Optional vendored Erlang/Elixir libraries (extra/<app>-<vsn>/ebin/*.beam),
# put on the code path through ERL_LIBS (set below). See README.md.
install -d "$root/opt/iexbox/lib"
if [[ -d $here/extra ]]; then cp -a "$here/extra/." "$root/opt/iexbox/lib/"; fi
chown -R 0:0 "$root/opt/iexbox"

# No package manager, no perl, no account tools (passwd, login): nothing in
# the sandbox installs software or changes accounts, and perl would be a
# ready-made way to make any system call. The files of these packages go,
# then the package database. (The setuid bits are gone already.)
DROP_PACKAGES="apt libapt-pkg7.0:amd64 dpkg perl-base debconf adduser sqv debian-archive-keyring
               passwd login libsemanage2:amd64 libsemanage-common libsepol2:amd64"
removed=$work/removed
: >"$removed"
for pkg in $DROP_PACKAGES; do
  list=$root/var/lib/dpkg/info/$pkg.list
  [[ -f $list ]] || continue   # not installed in this suite
  while IFS= read -r path; do
    if [[ -f $root$path || -L $root$path ]]; then rm -f "$root$path"; basename "$path" >>"$removed"; fi
  done <"$list"
done
rm -rf "$root"/var/lib/dpkg "$root"/etc/dpkg "$root"/etc/apt "$root"/var/lib/apt \
       "$root"/var/cache/apt "$root"/var/cache/debconf
# Every program and library left must still find the libraries slimming
# removed. (Some libraries are found only through their loader's RUNPATH,
# such as systemd's private ones in forky: ldd misses them before slimming
# too, so only a removed library counts.)
broken=$(find "$root/usr" -xdev -type f \( -perm /111 -o -name '*.so*' \) -print0 |
  while IFS= read -r -d '' f; do
    [[ $(head -c 4 "$f" | od -An -c | tr -d ' ') == 177ELF ]] || continue
    chroot "$root" /usr/bin/ldd "${f#"$root"}" 2>/dev/null | awk '/not found/ { print $1 }' |
      grep -qxF -f "$removed" && echo "${f#"$root"}"
  done || true)
if [[ -n $broken ]]; then log "slimming broke: $broken"; exit 1; fi

# Caches, logs, man pages, translations: not needed by iex. Elixir/Erlang docs
# live in /usr/lib/elixir and /usr/lib/erlang (doc chunks) and stay intact, so
# `h Enum.map` works. Keep copyright files.
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old \
       "$root"/var/lib/dpkg/*-old "$root"/var/log/* "$root"/debootstrap \
       "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/locale \
       "$root"/usr/share/lintian "$root"/usr/share/linda
find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
# The server starts iex's BEAM directly rather than through the iex, elixir
# and erl shell scripts, whose forks cost a third of a boot's CPU under gVisor
# (docs/benchmarks.md): a path to this release's ERTS binaries that does not
# name its version. internal/sandbox's Policy holds the command.
erts=$(cd "$root/usr/lib/erlang" && ls -d erts-*/ | head -n1)
[[ -x $root/usr/lib/erlang/${erts}bin/erlexec ]] || { log "no erlexec in /usr/lib/erlang/$erts"; exit 1; }
ln -s "/usr/lib/erlang/${erts}bin" "$root/opt/iexbox/erts-bin"

# Docker provides these at run time; don't ship the build host's values.
: >"$root/etc/resolv.conf"; : >"$root/etc/hostname"
rm -rf "${root:?}"/dev/* "$root"/tmp/* "$root"/run/*

# --- import --------------------------------------------------------------------
# docker import --change accepts LABEL/ENV/USER/WORKDIR/CMD on engine 20.10,
# so no Dockerfile (and no registry) is needed.
log "importing"
label_args=()
while IFS= read -r l; do [[ -n $l ]] && label_args+=(--change "LABEL $l"); done <<<"$LABELS"
tar --numeric-owner -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV HOME=/home/iex' \
  --change 'ENV ERL_LIBS=/opt/iexbox/lib:/usr/lib/elixir/lib' \
  --change "USER $USER_ID:$USER_ID" \
  --change 'WORKDIR /home/iex' \
  --change "LABEL iexbox.image.hash=$hash" \
  --change "LABEL iexbox.image.suite=$SUITE" \
  --change "LABEL iexbox.elixir=$elixir_vsn" \
  --change "LABEL iexbox.otp=$otp_vsn" \
  --change "LABEL iexbox.packages=$pkg_vsns" \
  "${label_args[@]}" \
  --change 'CMD ["iex"]' \
  - "$tmp_tag" >/dev/null

# --- verify under the server's hardening before tagging ----------------------
# Only a working image gets the final tag (and thus the hash that skips rebuilds).
out=$(docker run --rm --network none --read-only --cap-drop ALL --security-opt no-new-privileges \
  --tmpfs /tmp --tmpfs /home/iex:uid=$USER_ID,gid=$USER_ID -e ERL_AFLAGS='+Bc +S 1:1' \
  "$tmp_tag" elixir -e 'IO.puts(1+1)' 2>&1) || true
if [[ "$out" != 2 ]]; then log "smoke test failed: $out"; exit 1; fi
# The direct start the server uses (sandbox.Default's Cmd and Env).
out=$(echo 'IO.puts(1+1); System.halt()' | docker run -i --rm --network none --read-only --cap-drop ALL \
  --security-opt no-new-privileges --tmpfs /tmp --tmpfs /home/iex:uid=$USER_ID,gid=$USER_ID -e ERL_AFLAGS='+Bc +S 1:1' \
  -e ROOTDIR=/usr/lib/erlang -e BINDIR=/opt/iexbox/erts-bin -e EMU=beam -e PROGNAME=erl "$tmp_tag" \
  /opt/iexbox/erts-bin/erlexec -noshell -elixir_root /usr/lib/elixir/lib -pa /usr/lib/elixir/lib/elixir/ebin \
  -user elixir -extra --no-halt +iex 2>&1) || true
if [[ "$out" != *"iex(1)> 2"* ]]; then log "smoke test of the direct start failed: $out"; exit 1; fi

docker tag "$tmp_tag" "$IMAGE"
# Drop the previous image unless a container still uses it.
if [[ -n "$old_id" ]]; then docker rmi "$old_id" >/dev/null 2>&1 || true; fi
size=$(docker image inspect "$IMAGE" --format '{{.Size}}')
log "built $IMAGE (hash ${hash:0:12}, $((size / 1000000)) MB) in $((SECONDS - start)) s"
