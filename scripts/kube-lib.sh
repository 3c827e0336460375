# Functions shared by kube-up.sh and kube-down.sh; sourced, never run.
# They read the variables those scripts set (STATE, RUN, LOGS, ...).

note() { echo "${0##*/}: $*" >&2; }
die() {
  note "$*"
  exit 1
}

# all_exist DIR NAME...: every NAME is an executable in DIR.
all_exist() {
  local dir=$1 n
  shift
  for n; do [[ -x $dir/$n ]] || return 1; done
}

# have_debs DIR PACKAGE...: DIR holds a .deb of every PACKAGE.
have_debs() {
  local dir=$1 p
  shift
  for p; do compgen -G "$dir/${p}_*.deb" >/dev/null || return 1; done
}

# debian_mirror prints the Debian archive this machine's apt uses, so the
# forky packages come from the same place.
debian_mirror() {
  if [[ -n ${IEXBOX_DEBIAN_MIRROR:-} ]]; then
    echo "$IEXBOX_DEBIAN_MIRROR"
    return
  fi
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) {print $i; break}}'
    true # a missing sources file is no error
  } | grep -v security | grep -m1 '/debian/\?$'
}

# apt_forky download PACKAGE...: fetch the packages from Debian forky with
# a private apt configuration and lists; the host's apt is not touched.
apt_forky() {
  local dir=$forky/apt mirror
  mirror=$(debian_mirror) || die "no Debian archive in /etc/apt sources (set IEXBOX_DEBIAN_MIRROR)"
  mkdir -p "$dir/sources" "$dir/lists/partial" "$dir/archives/partial" "$forky/debs"
  printf 'Types: deb\nURIs: %s\nSuites: forky\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" > "$dir/sources/forky.sources"
  local opts=(-qq -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$dir/sources"
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir" -o "Dir::Cache::archives=$dir/archives"
    -o Dir::State::status=/dev/null -o APT::Architecture=amd64 -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update || die "apt-get update for forky failed"
  shift
  (cd "$forky/debs" && apt-get "${opts[@]}" download "$@") || die "apt-get download $* from forky failed"
}

# oci_layout BINARY NAME OUT: pack BINARY as the only file (/pause) of a
# one-layer image named NAME, as an OCI image layout tar.
oci_layout() {
  local bin=$1 name=$2 out=$3 d
  d=$(mktemp -d)
  mkdir -p "$d/root" "$d/oci/blobs/sha256"
  install -m 0755 "$bin" "$d/root/pause"
  tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$d/root" -cf "$d/layer.tar" pause
  local layer config manifest
  layer=$(blob "$d" < "$d/layer.tar")
  config=$(printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "${layer%% *}" | blob "$d")
  manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    ${config} ${layer} | blob "$d")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    ${manifest} "$name" "${name##*:}" > "$d/oci/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$d/oci/oci-layout"
  tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$d/oci" -cf "$out.tmp" oci-layout index.json blobs
  mv "$out.tmp" "$out"
  rm -rf "$d"
}

# blob DIR < DATA: store DATA in the layout under DIR, print "digest size".
blob() {
  local tmp sum
  tmp=$(mktemp -p "$1")
  cat > "$tmp"
  sum=$(sha256sum < "$tmp" | cut -c1-64)
  mv "$tmp" "$1/oci/blobs/sha256/$sum"
  echo "$sum $(stat -c %s "$1/oci/blobs/sha256/$sum")"
}

# make_pki DIR NODE_IP NODE: a cluster CA and the certificates of every
# component, made once; the serving ones again when the node's address
# changed.
make_pki() {
  local dir=$1 ip=$2 node=$3
  mkdir -p "$dir"
  (
    cd "$dir"
    umask 077
    if [[ ! -f ca.crt ]]; then
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -keyout ca.key -out ca.crt -subj /CN=iexbox-kube-ca 2>/dev/null
    fi
    if [[ ! -f sa.pub ]]; then
      openssl ecparam -name prime256v1 -genkey -noout -out sa.key 2>/dev/null
      openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null
    fi
    local client="extendedKeyUsage=clientAuth"
    issue admin "/O=system:masters/CN=iexbox-admin" "$client"
    issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
    issue controller-manager "/CN=system:kube-controller-manager" "$client"
    issue scheduler "/CN=system:kube-scheduler" "$client"
    issue kubelet-client "/O=system:nodes/CN=system:node:$node" "$client"
    local san="IP:127.0.0.1,IP:$ip,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default"
    san+=",DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    # The serving certificates name the node's address: new ones when it
    # changed.
    if [[ $(cat node-ip 2>/dev/null) != "$ip" ]]; then rm -f apiserver.crt kubelet.crt; fi
    issue apiserver "/CN=kube-apiserver" "extendedKeyUsage=serverAuth
subjectAltName=$san"
    issue kubelet "/CN=$node" "extendedKeyUsage=serverAuth
subjectAltName=IP:$ip,DNS:$node"
    echo "$ip" > node-ip
  )
}

# issue NAME SUBJECT EXTENSIONS: NAME.crt signed by the CA, unless it exists.
issue() {
  [[ -f $1.crt ]] && return
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" \
    -subj "$2" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
    -days 3650 -extfile <(printf 'keyUsage=critical,digitalSignature,keyEncipherment\n%s\n' "$3") \
    -out "$1.crt" 2>/dev/null
  rm -f "$1.csr"
}

# write_kubeconfig PATH USER [TOKEN NAMESPACE]: a kubeconfig for the
# apiserver on loopback, with USER's client certificate or with TOKEN.
write_kubeconfig() {
  local path=$1 user=$2 auth ns=${4:-default}
  if [[ $user == token ]]; then
    auth="token: $3"
    user=iexbox
  else
    local cert=$user
    [[ $user == kubelet ]] && cert=kubelet-client
    auth="client-certificate-data: $(base64 -w0 < "$pki/$cert.crt")
    client-key-data: $(base64 -w0 < "$pki/$cert.key")"
  fi
  (
    umask 077
    cat > "$path.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: iexbox-kube
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 < "$pki/ca.crt")
users:
- name: $user
  user:
    $auth
contexts:
- name: iexbox-kube
  context: {cluster: iexbox-kube, user: $user, namespace: $ns}
current-context: iexbox-kube
EOF
    mv "$path.tmp" "$path"
  )
}

# alive PID BINARY: PID is a live (not zombie) process running BINARY.
alive() {
  [[ -n $1 ]] && kill -0 "$1" 2>/dev/null &&
    ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null &&
    [[ $(readlink "/proc/$1/exe") == "$(readlink -f "$2")" ]]
}

# start_daemon NAME COMMAND...: run COMMAND in the background, detached
# from the calling shell (setsid nohup, as docker-up.sh does), logging to
# $LOGS/NAME.log; leave it if it already runs with the same command line
# and the same files under $STATE that the line names (its configuration
# and certificates), restart it if any of them changed.
start_daemon() {
  local name=$1 pid sig a
  shift
  sig="$*"
  for a; do
    a=${a#--*=}
    if [[ $a == "$STATE"/* && -f $a ]]; then sig+=" $(sha256sum < "$a" | cut -c1-16)"; fi
  done
  pid=$(cat "$RUN/$name.pid" 2>/dev/null || true)
  if alive "$pid" "$1"; then
    [[ $(cat "$RUN/$name.cmd" 2>/dev/null) == "$sig" ]] && return 0
    stop_daemon "$name"
  fi
  setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! > "$RUN/$name.pid"
  printf '%s' "$sig" > "$RUN/$name.cmd"
}

# stop_daemon NAME: TERM, then KILL after 15 s, the process started as NAME.
stop_daemon() {
  local name=$1 pid bin
  pid=$(cat "$RUN/$name.pid" 2>/dev/null || true)
  bin=$(cut -d' ' -f1 "$RUN/$name.cmd" 2>/dev/null || true)
  if [[ -n $bin ]] && alive "$pid" "$bin"; then
    kill -TERM "$pid"
    for _ in $(seq 75); do
      alive "$pid" "$bin" || break
      sleep 0.2
    done
    if alive "$pid" "$bin"; then kill -KILL "$pid"; fi
  fi
  rm -f "$RUN/$name.pid" "$RUN/$name.cmd"
}

# wait_for WHAT SECONDS COMMAND...: retry COMMAND until it succeeds; on
# timeout show the freshest logs and fail.
wait_for() {
  local what=$1 secs=$2 i
  shift 2
  for ((i = 0; i < secs * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  note "$what not ready within $secs s; last lines of the logs in $LOGS:"
  local log
  for log in $(ls -t "$LOGS"/*.log 2>/dev/null | head -n 2); do
    echo "== $log" >&2
    tail -n 15 "$log" >&2
  done
  exit 1
}

# import_image NAME KEY PRODUCER...: import the image archive PRODUCER
# writes into the cluster's containerd, unless NAME is there and was last
# imported with the same KEY.
import_image() {
  local name=$1 key=$2 stamp
  shift 2
  stamp=$STATE/images/$(tr '/:' '__' <<<"$name").id
  if [[ $(cat "$stamp" 2>/dev/null) == "$key" ]] && [[ -n $("${ctr[@]}" images ls -q "name==$name") ]]; then
    return 0
  fi
  mkdir -p "$STATE/images"
  "$@" | "${ctr[@]}" images import --platform linux/amd64 - >/dev/null ||
    die "importing $name into containerd failed"
  [[ -n $("${ctr[@]}" images ls -q "name==$name") ]] || die "image $name missing after import"
  echo "$key" > "$stamp"
}

# The kernel settings the kubelet sets at start (setupKernelTunables).
KUBELET_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

# save_sysctls FILE: record their values, unless FILE already holds the
# values from before an earlier start.
save_sysctls() {
  [[ -f $1 ]] && return 0
  local k
  for k in "${KUBELET_SYSCTLS[@]}"; do echo "$k=$(sysctl -n "$k")"; done > "$1.tmp"
  mv "$1.tmp" "$1"
}

node_ready() {
  [[ $("${kubectl[@]}" get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}

# sa_token prints the token of the server's ServiceAccount.
sa_token() {
  local t
  t=$("${kubectl[@]}" -n iexbox get secret iexbox-token -o jsonpath='{.data.token}' | base64 -d)
  [[ -n $t ]] && echo "$t"
}
