#!/usr/bin/env bash
# Build the pinned helm (versions.env) from the Go module proxy into trafficctl's cache, where
# the deploy/ tests look for it:  ${XDG_CACHE_HOME:-~/.cache}/trafficctl/bin/helm-$HELM_VERSION
# Takes 3-10 minutes on a small machine; run once. helm is built as a binary, not linked into
# trafficctl's tests, because helm v3.22 needs client-go v0.37 and trafficctl pins v0.34.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../versions.env
source "$here/versions.env"
dest=${XDG_CACHE_HOME:-$HOME/.cache}/trafficctl/bin
mkdir -p "$dest"
if [[ -x $dest/helm-$HELM_VERSION ]]; then
  echo "$dest/helm-$HELM_VERSION exists"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOBIN=$tmp go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
mv "$tmp/helm" "$dest/helm-$HELM_VERSION"
echo "installed $dest/helm-$HELM_VERSION"
