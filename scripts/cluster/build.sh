#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kube-controller-manager from the Go modules pinned in test/cluster/
# (kube/ and etcd/: go.mod + go.sum checked in) into a cache outside the repo, keyed by the pinned
# versions, the go.sum contents and the Go version. Prints the binaries' directory on stdout.
# A second call finds them there and returns at once. Usage: scripts/cluster/build.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
src="$root/test/cluster"

if ! command -v go >/dev/null 2>&1; then
  echo "test-cluster: go not found: the local control plane is built from Go modules (Go >= 1.26)" >&2
  exit 3
fi

# The version a go.mod requires of a module, in a `require (...)` block or on one line.
required() { awk -v m="$2" '$1 == m { print $2 } $1 == "require" && $2 == m { print $3 }' "$1" | head -n 1; }
kube_version=$(required "$src/kube/go.mod" k8s.io/kubernetes)
etcd_version=$(required "$src/etcd/go.mod" go.etcd.io/etcd/server/v3)
[[ -n $kube_version && -n $etcd_version ]] || { echo "test-cluster: no pinned versions in $src" >&2; exit 1; }
go_version=$(go env GOVERSION)
sum=$(cat "$src/kube/go.mod" "$src/kube/go.sum" "$src/etcd/go.mod" "$src/etcd/go.sum" "$src/etcd/main.go" "$0" |
  sha256sum | cut -c1-12)
cache="${IMAGEGATE_TOOLS_CACHE:-$HOME/.cache/imagegate-tools}"
bin="$cache/control-plane/kubernetes-$kube_version-etcd-$etcd_version-$go_version-$sum"

if [[ -x "$bin/kube-apiserver" && -x "$bin/kube-controller-manager" && -x "$bin/etcd" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache/control-plane"
# Build into a private directory and rename it into place: concurrent builds (several worktrees, CI)
# never see half-written binaries.
tmp=$(mktemp -d "$cache/control-plane/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
echo "test-cluster: building kubernetes $kube_version and etcd $etcd_version (first time only; minutes)" >&2
export GOFLAGS="${GOFLAGS:--p=2} -mod=readonly -trimpath"
# The version the API server reports (/version, which `helm install` checks against a chart's
# kubeVersion), stamped as Kubernetes' own build does; without it the server says v0.0.0-master.
minor=${kube_version#v1.}
minor=${minor%%.*}
stamp=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  stamp+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
(cd "$src/kube" && nice -n 10 go build -ldflags="-s$stamp" -o "$tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
(cd "$src/etcd" && nice -n 10 go build -ldflags=-s -o "$tmp/etcd" .)
echo "test-cluster: built in $(($(date +%s) - start)) s into $bin" >&2
if ! mv -T "$tmp" "$bin" 2>/dev/null; then
  # Another build won the race: theirs is as good as ours.
  [[ -x "$bin/kube-apiserver" ]] || { echo "test-cluster: could not place binaries in $bin" >&2; exit 1; }
fi
chmod 755 "$bin"
echo "$bin"
