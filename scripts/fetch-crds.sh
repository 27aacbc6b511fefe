#!/usr/bin/env bash
# Download and render the upstream CRDs the integration tests apply, at pinned upstream commits,
# into ${XDG_CACHE_HOME:-$HOME/.cache}/trafficctl/crds (where the tests look after
# $TRAFFICCTL_CRDS_DIR and ../shared/crds). Needs network access to GitHub and the Go module
# proxy (helm is built from it). The files match what the project's CI uses:
#   linkerd-crds.yaml          linkerd2 charts/linkerd-crds at edge-26.8 (commit b24cd40), installGatewayAPI=false
#   gateway-api-crds.yaml      the same chart's Gateway API templates (bundle v1.1.1)
#   smi-trafficsplit-crd.yaml  linkerd-smi charts/linkerd-smi 1.0.4 (commit c0c39b1), the TrafficSplit CRD
set -euo pipefail
LINKERD_COMMIT=b24cd40
SMI_COMMIT=c0c39b1
HELM_VERSION=v3.22.0
OUT=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/trafficctl/crds}

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "building helm $HELM_VERSION from the Go module proxy..." >&2
GOBIN="$tmp/bin" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
helm="$tmp/bin/helm"
fetch() { curl -fsSL --retry 3 "https://github.com/linkerd/$1/archive/$2.tar.gz" | tar -xz -C "$tmp"; }
fetch linkerd2 "$LINKERD_COMMIT"
fetch linkerd-smi "$SMI_COMMIT"
l5d=$(echo "$tmp"/linkerd2-*/charts/linkerd-crds)
smi=$(echo "$tmp"/linkerd-smi-*/charts/linkerd-smi)

mkdir -p "$OUT.tmp"
"$helm" template linkerd-crds "$l5d" --set installGatewayAPI=false >"$OUT.tmp/linkerd-crds.yaml"
gw_args=()
for f in "$l5d"/templates/gateway.networking.k8s.io_*.yaml; do gw_args+=(--show-only "templates/$(basename "$f")"); done
"$helm" template linkerd-crds "$l5d" --set installGatewayAPI=true "${gw_args[@]}" >"$OUT.tmp/gateway-api-crds.yaml"
"$helm" template linkerd-smi "$smi" --show-only templates/trafficsplit-crd.yaml >"$OUT.tmp/smi-trafficsplit-crd.yaml"
rm -rf "$OUT"; mv "$OUT.tmp" "$OUT"
echo "CRDs written to $OUT" >&2
