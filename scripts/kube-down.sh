#!/usr/bin/env bash
# Stop the single-node cluster of kube-up.sh: its Pods, the kubelet, the
# control plane and its containerd; put back the kernel settings the
# kubelet rewrote. The caches stay, so kube-up.sh is fast again; the
# cluster's state (etcd, certificates) stays too unless --purge is given.
# Idempotent and quiet on success.
set -euo pipefail

STATE=/var/lib/iexbox-kube
RUN=/run/iexbox-kube
LOGS=/var/log/iexbox-kube
KUBELET_ROOT=/var/lib/kubelet
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/kube-lib.sh
source "$here/kube-lib.sh"

purge=false
case ${1:-} in
  --purge) purge=true ;;
  "") ;;
  *) die "usage: kube-down.sh [--purge]" ;;
esac
[[ $(id -u) == 0 ]] || die "must run as root"

running() { alive "$(cat "$RUN/$1.pid" 2>/dev/null || true)" "$(cut -d' ' -f1 "$RUN/$1.cmd" 2>/dev/null || true)"; }

# Pods first, while the kubelet can still tear them down (network, volumes).
kubectl=$(cut -d' ' -f1 "$RUN/kube-apiserver.cmd" 2>/dev/null || true)
kubectl=${kubectl%/*}/kubectl
if running kube-apiserver && running kubelet && [[ -x $kubectl ]]; then
  k=("$kubectl" --kubeconfig "$STATE/admin.kubeconfig" --request-timeout 10s)
  "${k[@]}" delete pods --all-namespaces --all --grace-period 0 --force --wait=false >/dev/null 2>&1 || true
  for _ in $(seq 60); do
    [[ -z $("${k[@]}" get pods --all-namespaces -o name 2>/dev/null) ]] && break
    sleep 0.5
  done
fi
stop_daemon kubelet

# Whatever the kubelet left: stop and remove every task and container in
# the Kubernetes namespace of the cluster's containerd.
ctr_bin=$(cut -d' ' -f1 "$RUN/containerd.cmd" 2>/dev/null || true)
ctr_bin=${ctr_bin%/*}/ctr
if running containerd && [[ -x $ctr_bin ]]; then
  ctr=("$ctr_bin" --address "$RUN/containerd/containerd.sock" -n k8s.io)
  for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
    "${ctr[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
  for id in $("${ctr[@]}" containers ls -q 2>/dev/null); do
    for _ in $(seq 20); do
      "${ctr[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true
      "${ctr[@]}" containers rm "$id" >/dev/null 2>&1 && break
      sleep 0.25
    done
  done
fi

for d in kube-scheduler kube-controller-manager kube-apiserver containerd etcd; do
  stop_daemon "$d"
done

# Mounts left behind (Pod volumes, network namespaces, container roots).
grep -oE " ($KUBELET_ROOT|$RUN|$STATE|/run/netns/cni-)[^ ]*" /proc/mounts | sort -r |
  while read -r m; do umount -l "$m" 2>/dev/null || true; done
rm -f /run/netns/cni-*
# The Pods are gone; so are their addresses.
rm -rf "$STATE/cni/ipam"

if [[ -f $STATE/sysctl.saved ]]; then
  while IFS= read -r kv; do sysctl -q -w "$kv" >/dev/null || note "could not restore $kv"; done < "$STATE/sysctl.saved"
  rm -f "$STATE/sysctl.saved"
fi

if $purge; then
  rm -rf "$STATE" "$KUBELET_ROOT" "$RUN" "$LOGS" /var/log/pods /var/log/containers
fi
