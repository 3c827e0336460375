#!/usr/bin/env bash
# Bring up a real single-node Kubernetes cluster on this machine for the
# e2e suite, from the Go module proxy and Debian packages only (no container
# registry): etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# a containerd of its own beside the Docker Engine's (runc and gVisor), and
# a kubelet. Idempotent and quiet on success; prints the kubeconfig paths.
#
# What it builds or downloads is cached outside the clone, keyed by version,
# in $IEXBOX_KUBE_CACHE (/var/cache/iexbox-kube): a second run takes seconds.
# State lives in /var/lib/iexbox-kube, sockets and pid files in
# /run/iexbox-kube, logs in /var/log/iexbox-kube. scripts/kube-down.sh stops
# it all and restores the sysctls the kubelet rewrites.
#
# Pitfalls of this host, each handled below (see deploy/kubernetes/README.md):
# - cgroup v1 (hybrid): the kubelet needs failCgroupV1: false.
# - root lacks CAP_SYS_RESOURCE: containerd must restrict_oom_score_adj, and
#   the gVisor shim is patched to tolerate EPERM/EACCES on its OOM score.
# - no dummy network driver: Pods get a loopback-only network (cni-lo).
# - attach and exec go through the kubelet at the node's InternalIP, which
#   must not be a loopback address.
set -euo pipefail
export PATH=/usr/local/go/bin:$PATH

K8S_VERSION=${K8S_VERSION:-v1.37.2}
CACHE=${IEXBOX_KUBE_CACHE:-/var/cache/iexbox-kube}
STATE=/var/lib/iexbox-kube
RUN=/run/iexbox-kube
LOGS=/var/log/iexbox-kube
KUBELET_ROOT=/var/lib/kubelet
NODE=iexbox-node
ETCD_PORT=23790
API_PORT=6443
SANDBOX_IMAGE=iexbox-sandbox:latest
PAUSE_IMAGE=iexbox.local/pause:1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
manifests=$repo/deploy/kubernetes
# shellcheck source=scripts/kube-lib.sh
source "$here/kube-lib.sh"

[[ $(id -u) == 0 ]] || die "must run as root"
# The Docker Engine holds the sandbox image; gvisor-up.sh installs runsc.
"$here/docker-up.sh"
"$here/gvisor-up.sh"
RUNSC_VERSION=$(cat /usr/local/lib/iexbox-runsc.version)

mkdir -p "$CACHE" "$STATE" "$RUN" "$LOGS"

# ---------------------------------------------------------------- binaries

# Kubernetes: `go install k8s.io/kubernetes/cmd/...@v` refuses a module with
# replace directives, so build from a throwaway module that requires
# k8s.io/kubernetes and points each staging module at its published version.
k8s=$CACHE/k8s-$K8S_VERSION
k8s_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
if ! all_exist "$k8s/bin" "${k8s_cmds[@]}"; then
  note "building Kubernetes $K8S_VERSION (about 6 minutes on 2 cores)"
  mkdir -p "$k8s/src"
  (
    cd "$k8s/src"
    mod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | jq -r .GoMod)
    staging=v0.${K8S_VERSION#v1.}
    {
      echo "module iexbox.local/kubebuild"
      grep -m1 '^go ' "$mod"
      grep -m1 '^godebug ' "$mod" || true
      echo "require k8s.io/kubernetes $K8S_VERSION"
      sed -n 's|^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*|replace \1 => \1 '"$staging"'|p' "$mod"
      for c in "${k8s_cmds[@]}"; do echo "tool k8s.io/kubernetes/cmd/$c"; done
    } > go.mod
    grep -q '^replace k8s.io/api ' go.mod || die "no staging replaces found in $mod"
    go mod tidy >/dev/null 2>&1 || go mod tidy
    minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    rm -rf ../bin.tmp && mkdir ../bin.tmp
    CGO_ENABLED=0 go build -ldflags "$ldflags" -o ../bin.tmp/ "${k8s_cmds[@]/#/k8s.io/kubernetes/cmd/}"
    rm -rf ../bin && mv ../bin.tmp ../bin
  )
fi

# etcd, containerd 2.x and the CNI plugins from Debian forky, unpacked into
# the cache: installing forky's containerd would replace the one Docker uses.
forky=$CACHE/forky
forky_pkgs=(etcd-server containerd containernetworking-plugins)
if ! have_debs "$forky/debs" "${forky_pkgs[@]}"; then
  note "downloading ${forky_pkgs[*]} from Debian forky"
  apt_forky download "${forky_pkgs[@]}"
fi
for p in "${forky_pkgs[@]}"; do
  deb=$(ls "$forky/debs/${p}"_*.deb | sort -V | tail -n 1)
  root=$forky/root/$(basename "$deb" .deb)
  if [[ ! -d $root ]]; then
    rm -rf "$root.tmp" && mkdir -p "$root.tmp"
    dpkg-deb -x "$deb" "$root.tmp" || die "unpacking $deb failed"
    mv "$root.tmp" "$root"
  fi
  declare "root_${p//-/_}=$root"
done
# shellcheck disable=SC2154 # set by declare above
etcd_bin=$root_etcd_server/usr/bin/etcd
containerd_root=$root_containerd/usr/bin
cni_dir=$root_containernetworking_plugins/usr/lib/cni

# runc: the Docker Engine's (Debian's runc 1.1.5) works under containerd 2.x.
runc_bin=$(command -v runc) || die "runc not found (it comes with docker.io)"

# The gVisor containerd shim, from the same gVisor as runsc, with one line
# changed: it refuses to start when it may not set its own OOM score, which
# root without CAP_SYS_RESOURCE may not.
shim=$CACHE/gvisor-shim-$RUNSC_VERSION
if [[ ! -x $shim/containerd-shim-runsc-v1 ]]; then
  note "building the gVisor containerd shim $RUNSC_VERSION"
  rm -rf "$shim" && mkdir -p "$shim"
  src=$(go mod download -json "gvisor.dev/gvisor@$RUNSC_VERSION" | jq -r .Dir)
  cp -r "$src" "$shim/gvisor" && chmod -R u+w "$shim/gvisor"
  f=$shim/gvisor/pkg/shim/v1/manager.go
  old='if err := sys.SetOOMScore(cmd.Process.Pid, oomScoreMax); err != nil {'
  new='if err := sys.SetOOMScore(cmd.Process.Pid, oomScoreMax); err != nil \&\& !os.IsPermission(err) {'
  grep -qF "$old" "$f" || die "gVisor shim: the OOM score line to patch is not in $f"
  sed -i "s/$(sed 's/[][\.*^$/]/\\&/g' <<<"$old")/$new/" "$f"
  grep -qF 'err != nil && !os.IsPermission(err) {' "$f" || die "gVisor shim: patching $f failed"
  mkdir -p "$shim/build"
  cat > "$shim/build/go.mod" <<EOF
module iexbox.local/shimbuild
$(grep -m1 '^go ' "$shim/gvisor/go.mod")
require gvisor.dev/gvisor $RUNSC_VERSION
replace gvisor.dev/gvisor => ../gvisor
tool gvisor.dev/gvisor/shim
EOF
  cp "$shim/gvisor/go.sum" "$shim/build/go.sum"
  (cd "$shim/build" && go mod tidy >/dev/null 2>&1 &&
    CGO_ENABLED=0 go build -o ../containerd-shim-runsc-v1.tmp gvisor.dev/gvisor/shim) ||
    die "gVisor shim: build failed in $shim/build"
  mv "$shim/containerd-shim-runsc-v1.tmp" "$shim/containerd-shim-runsc-v1"
fi

# The loopback-only CNI plugin and the pause program, from this repository,
# keyed by the hash of their sources and the Go version.
tools_key=$( (go version; cat "$manifests/cni-lo/"*.go "$manifests/pause/"*.go) | sha256sum | cut -c1-16)
tools=$CACHE/tools-$tools_key
if [[ ! -f $tools/pause.tar ]]; then
  rm -rf "$tools" && mkdir -p "$tools/cni"
  (cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tools/cni/cni-lo" ./deploy/kubernetes/cni-lo &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tools/pause" ./deploy/kubernetes/pause) ||
    die "building cni-lo and pause failed"
  oci_layout "$tools/pause" "$PAUSE_IMAGE" "$tools/pause.tar"
fi

# ---------------------------------------------------------------- node address

# The apiserver reaches the kubelet (attach, exec) at the node's InternalIP,
# which may not be loopback: take the source address of the default route,
# else any global address (docker0 always has one here).
node_ip=$(ip -4 route get 203.0.113.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n 1)
[[ -n $node_ip ]] || node_ip=$(ip -4 -o addr show scope global | awk '{sub(/\/.*/, "", $4); print $4; exit}')
[[ -n $node_ip ]] || die "no non-loopback IPv4 address on this host for the node"

# ---------------------------------------------------------------- certificates and configuration

pki=$STATE/pki
make_pki "$pki" "$node_ip" "$NODE"
write_kubeconfig "$STATE/admin.kubeconfig" admin
write_kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager
write_kubeconfig "$STATE/scheduler.kubeconfig" scheduler
write_kubeconfig "$STATE/kubelet.kubeconfig" kubelet

sock=$RUN/containerd/containerd.sock
mkdir -p "$STATE/conf" "$STATE/cni/net.d" "$STATE/cni/ipam"
cat > "$STATE/conf/runsc.toml" <<EOF
# Options of the gVisor containerd shim (runtime handler "runsc").
binary_name = "/usr/local/bin/runsc"
root = "$RUN/runsc"
[runsc_config]
  platform = "systrap"
  # The sandbox has only its own loopback, whatever the CNI plugin does.
  network = "none"
  # Enforce the Pod's seccomp profile inside gVisor too, as under Docker.
  oci-seccomp = "true"
EOF
cat > "$STATE/conf/containerd.toml" <<EOF
version = 3
root = "$STATE/containerd"
state = "$RUN/containerd"
# The Docker Engine's containerd may run beside this one; NRI would share
# its socket path.
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = "$sock"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$PAUSE_IMAGE"

[plugins."io.containerd.cri.v1.runtime"]
  # Root here lacks CAP_SYS_RESOURCE and cannot lower an oom_score_adj.
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      runtime_path = "$containerd_root/containerd-shim-runc-v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "$runc_bin"
        Root = "$RUN/runc"
        SystemdCgroup = false
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runsc]
      runtime_type = "io.containerd.runsc.v1"
      runtime_path = "$shim/containerd-shim-runsc-v1"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runsc.options]
        TypeUrl = "io.containerd.runsc.v1.options"
        ConfigPath = "$STATE/conf/runsc.toml"
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["$cni_dir", "$tools/cni"]
    conf_dir = "$STATE/cni/net.d"
    max_conf_num = 1

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
EOF
cat > "$STATE/cni/net.d/10-iexbox-lo.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "iexbox-lo",
  "plugins": [{
    "type": "cni-lo",
    "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/16"}]], "dataDir": "$STATE/cni/ipam"}
  }]
}
EOF

# The kubelet: the settings docs/security.md relies on come from
# deploy/kubernetes/kubelet-config.yaml; this node's own follow.
{
  cat "$manifests/kubelet-config.yaml"
  cat <<EOF
# --- this test node (scripts/kube-up.sh) ---
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
containerRuntimeEndpoint: unix://$sock
# The host's cgroups are v1 (hybrid), which the kubelet refuses by default.
failCgroupV1: false
cgroupDriver: cgroupfs
# Leave the host's iptables alone.
makeIPTablesUtilChains: false
# Images are imported, never pulled: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
failSwapOn: false
maxPods: 250
EOF
} > "$STATE/conf/kubelet.yaml"

# The seccomp profiles Pods name as Localhost "iexbox/runc.json" and
# "iexbox/gvisor.json": the Docker backend's own (see internal/docker).
mkdir -p "$KUBELET_ROOT/seccomp/iexbox"
install -m 0644 "$manifests/seccomp/runc.json" "$manifests/seccomp/gvisor.json" "$KUBELET_ROOT/seccomp/iexbox/"

# ---------------------------------------------------------------- daemons

kbin=$k8s/bin
start_daemon etcd "$etcd_bin" --name default --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
  --initial-cluster default=http://127.0.0.1:23800 --log-level warn
wait_for "etcd" 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

start_daemon kube-apiserver "$kbin/kube-apiserver" \
  --advertise-address "$node_ip" --secure-port "$API_PORT" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range 10.96.0.0/24 --profiling=false
kubectl=("$kbin/kubectl" --kubeconfig "$STATE/admin.kubeconfig")
wait_for "kube-apiserver" 60 "${kubectl[@]}" get --raw /readyz

for c in controller-manager scheduler; do
  extra=()
  [[ $c == controller-manager ]] && extra=(--service-account-private-key-file "$pki/sa.key"
    --root-ca-file "$pki/ca.crt" --use-service-account-credentials)
  start_daemon "kube-$c" "$kbin/kube-$c" --kubeconfig "$STATE/$c.kubeconfig" \
    --authentication-kubeconfig "$STATE/$c.kubeconfig" --authorization-kubeconfig "$STATE/$c.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false "${extra[@]}"
done

start_daemon containerd "$containerd_root/containerd" --config "$STATE/conf/containerd.toml"
ctr=("$containerd_root/ctr" --address "$sock" -n k8s.io)
wait_for "containerd" 30 "${ctr[@]}" version

# Images: the pause image built above, and the sandbox image from Docker,
# imported again whenever Docker's image id changes.
import_image "$PAUSE_IMAGE" "$(sha256sum < "$tools/pause.tar" | cut -c1-64)" cat "$tools/pause.tar"
sandbox_id=$(docker image inspect -f '{{.Id}}' "$SANDBOX_IMAGE" 2>/dev/null) ||
  die "the Docker image $SANDBOX_IMAGE is missing: build it with make image"
import_image "docker.io/library/$SANDBOX_IMAGE" "$sandbox_id" docker save "$SANDBOX_IMAGE"
# Every toolchain's image (`iexbox toolchains` builds them, named by their
# content hash), likewise.
for ref in $(docker image ls --format '{{.Repository}}:{{.Tag}}' iexbox-toolchain); do
  import_image "docker.io/library/$ref" "$(docker image inspect -f '{{.Id}}' "$ref")" docker save "$ref"
done

# The kubelet rewrites six kernel settings at start; kube-down.sh puts back
# what was there before the first start.
save_sysctls "$STATE/sysctl.saved"
start_daemon kubelet "$kbin/kubelet" --config "$STATE/conf/kubelet.yaml" \
  --kubeconfig "$STATE/kubelet.kubeconfig" --hostname-override "$NODE" --node-ip "$node_ip" \
  --root-dir "$KUBELET_ROOT"
wait_for "node $NODE Ready" 90 node_ready

# ---------------------------------------------------------------- cluster objects

# With them, a long-lived token of the server's ServiceAccount, for a
# server that runs outside the cluster (the e2e suite's).
cat > "$STATE/conf/iexbox-token.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: iexbox-token
  namespace: iexbox
  annotations:
    kubernetes.io/service-account.name: iexbox
type: kubernetes.io/service-account-token
EOF
objects=("$manifests/namespaces.yaml" "$manifests/rbac.yaml" "$manifests/runtimeclass.yaml"
  "$manifests/networkpolicy.yaml" "$STATE/conf/iexbox-token.yaml")
# Applied again only when a file changed (or after kube-down.sh --purge).
applied=$(cat "${objects[@]}" | sha256sum | cut -c1-64)
if [[ $(cat "$STATE/applied.sha256" 2>/dev/null) != "$applied" ]]; then
  "${kubectl[@]}" apply "${objects[@]/#/-f}" >/dev/null
  echo "$applied" > "$STATE/applied.sha256"
fi
wait_for "the iexbox ServiceAccount token" 30 sa_token
write_kubeconfig "$STATE/iexbox.kubeconfig" token "$(sa_token)" iexbox-sandboxes
# Pods are admitted only once their namespace's default ServiceAccount exists.
wait_for "the default ServiceAccount of iexbox-sandboxes" 30 "${kubectl[@]}" -n iexbox-sandboxes get serviceaccount default

echo "kube-up: node $NODE Ready at $node_ip"
echo "  admin:   KUBECONFIG=$STATE/admin.kubeconfig $kbin/kubectl get nodes"
echo "  server:  $STATE/iexbox.kubeconfig (ServiceAccount iexbox/iexbox)"
echo "  kubectl: $kbin/kubectl; logs: $LOGS"
