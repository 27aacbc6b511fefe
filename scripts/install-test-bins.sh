#!/usr/bin/env bash
# Builds etcd and kube-apiserver for the integration tests from the Go module proxy, using the
# pinned wrapper modules in scripts/testenv/{etcd,kube-apiserver}, into a cache folder keyed by
# the pins: ${TRAFFICCTL_TEST_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trafficctl/k8s-test-bins/<hash>}.
# Prints that folder on stdout. A second run with the same pins is instant.
# Cold build on 2 cores: etcd ~70 s, kube-apiserver ~5 min (2 GB RAM peak).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W="$HERE/testenv"
export GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"
KAS_VERSION=v1.34.4
KEY=$(cat "$W"/kube-apiserver/go.mod "$W"/kube-apiserver/go.sum "$W"/etcd/go.mod "$W"/etcd/go.sum "$0" | sha256sum | cut -c1-16)
BIN=${TRAFFICCTL_TEST_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trafficctl/k8s-test-bins/$KEY}
if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/etcd" ]; then echo "$BIN"; exit 0; fi
rm -rf "$BIN.tmp"; mkdir -p "$BIN.tmp"
t0=$(date +%s)
echo "building etcd (first run only, about a minute)..." >&2
(cd "$W/etcd" && go build -trimpath -o "$BIN.tmp/etcd" go.etcd.io/etcd/server/v3)
t1=$(date +%s); echo "etcd built in $((t1-t0))s" >&2
echo "building kube-apiserver $KAS_VERSION (first run only, about 5 minutes)..." >&2
minor=$(echo "$KAS_VERSION" | cut -d. -f2)
(cd "$W/kube-apiserver" && go build -trimpath -o "$BIN.tmp/kube-apiserver" \
  -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KAS_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
  k8s.io/kubernetes/cmd/kube-apiserver)
t2=$(date +%s); echo "kube-apiserver built in $((t2-t1))s" >&2
rm -rf "$BIN"; mv "$BIN.tmp" "$BIN"
echo "$BIN"
