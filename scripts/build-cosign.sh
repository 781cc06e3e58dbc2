#!/usr/bin/env bash
# Builds the real cosign (the differential suite's oracle, test/integration/cosign-oracle*.test.ts) from
# its published Go module at the pinned versions below, once per version, into
#   ${IMAGEGATE_TOOLS_CACHE:-$HOME/.cache/imagegate-tools}/cosign/<version>/cosign
# A cached binary is reused (the cache is shared by worktrees and CI on one machine). Builds are niced
# and limited to two parallel compile jobs: the machine is shared.
# Usage: scripts/build-cosign.sh [version...]   (default: every pinned version)
# Prints one line per version: <version> <path> <seconds built, 0 when cached>.
# Without Go (and nothing cached) it prints a notice and exits 3 (the suite then skips, except under CI=true where it fails).
set -euo pipefail

# Pinned: the latest v2 and v3 tags on the Go module proxy (`go list -m -versions github.com/sigstore/cosign/v3`).
COSIGN_VERSIONS=(v2.6.5 v3.1.3)

cache="${IMAGEGATE_TOOLS_CACHE:-$HOME/.cache/imagegate-tools}/cosign"
versions=("$@")
((${#versions[@]})) || versions=("${COSIGN_VERSIONS[@]}")

# Go's official tarball installs to /usr/local/go, which a root shell's PATH may not name.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
cached() { [[ -x $1 ]] && "$1" version 2>/dev/null | grep -q "GitVersion:.*${2#v}\$"; }

for version in "${versions[@]}"; do
  [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "build-cosign: bad version '$version'" >&2; exit 2; }
  major=${version%%.*}
  dir="$cache/$version"
  bin="$dir/cosign"
  if cached "$bin" "$version"; then
    echo "$version $bin 0"
    continue
  fi
  if ! command -v go >/dev/null 2>&1; then
    # cosign v2.6.5 needs Go 1.25, v3.1.3 Go 1.26 (an older Go fetches that toolchain from the proxy).
    echo "build-cosign: go is not on PATH; cannot build cosign $version (install Go 1.25 or later)" >&2
    exit 3
  fi
  mkdir -p "$dir"
  # One build per version at a time, across worktrees: a second caller waits for the first.
  exec {lock}>"$dir/.lock"
  flock "$lock"
  if cached "$bin" "$version"; then
    echo "$version $bin 0"
    exec {lock}>&-
    continue
  fi
  gobin=$(mktemp -d "$dir/.build.XXXXXX")
  start=$(date +%s)
  echo "build-cosign: building github.com/sigstore/cosign/$major/cmd/cosign@$version (several minutes when cold)" >&2
  # -ldflags sets the version `cosign version` reports (go install of a module version leaves it "devel").
  GOBIN="$gobin" GOFLAGS="${GOFLAGS:--p=2}" CGO_ENABLED=0 nice -n 10 go install \
    -ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$version" \
    "github.com/sigstore/cosign/$major/cmd/cosign@$version"
  mv "$gobin/cosign" "$bin"
  rmdir "$gobin"
  end=$(date +%s)
  echo "$((end - start))" >"$dir/build-seconds"
  echo "$version $bin $((end - start))"
  exec {lock}>&-
done
