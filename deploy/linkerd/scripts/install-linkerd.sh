#!/usr/bin/env bash
# Install the platform on the current kubectl context, in order, every version pinned in
# versions.env:
#   1. Gateway API CRDs          6. linkerd-smi (deprecated; only with --smi)
#   2. trust anchor + issuer     7. Traefik ingress (meshed, Gateway API) + Gateway + TLS
#   3. linkerd-crds              8. Grafana (Prometheus, Loki, Jaeger) + its AuthorizationPolicy
#   4. linkerd-control-plane        + trafficctl dashboards
#      and linkerd-viz           9. emojivoto's egress policy (after the app's namespace exists)
#   5. tracing and logs: OpenTelemetry collector, Jaeger, Loki (observability/)
#
#   scripts/install-linkerd.sh [--ha] [--smi]
# CERTS_DIR overrides where the trust anchor and issuer are kept (default deploy/linkerd/certs).
# Idempotent: re-running upgrades each release to the pinned versions.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../versions.env
source "$here/versions.env"

ha=false smi=false
for arg in "$@"; do
  case $arg in
    --ha) ha=true ;;
    --smi) smi=true ;;
    *) echo "error: unknown argument $arg: use --ha and/or --smi" >&2; exit 2 ;;
  esac
done
for tool in kubectl helm openssl; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found: install it and re-run" >&2; exit 2; }
done
step() { printf '\n==> %s\n' "$*"; }

step "Gateway API CRDs ${GATEWAY_API_VERSION}"
kubectl apply --server-side -f "https://github.com/kubernetes-sigs/gateway-api/releases/download/${GATEWAY_API_VERSION}/experimental-install.yaml"

step "trust anchor and issuer"
certs=${CERTS_DIR:-$here/certs}
[[ -f $certs/issuer.key ]] || "$here/scripts/gen-certs.sh" "$certs"

helm repo add linkerd-edge https://helm.linkerd.io/edge --force-update >/dev/null
helm repo add linkerd-smi https://linkerd.github.io/linkerd-smi --force-update >/dev/null
helm repo add traefik https://traefik.github.io/charts --force-update >/dev/null
helm repo add grafana https://grafana.github.io/helm-charts --force-update >/dev/null

step "linkerd-crds ${LINKERD_CHART_VERSION}"
helm upgrade --install linkerd-crds linkerd-edge/linkerd-crds --version "$LINKERD_CHART_VERSION" \
  -n linkerd --create-namespace -f "$here/values/linkerd-crds.yaml" --wait

step "linkerd-control-plane ${LINKERD_VERSION}$($ha && echo ' (HA)')"
cp_values=(-f "$here/values/linkerd-control-plane.yaml")
$ha && cp_values+=(-f "$here/values/linkerd-control-plane-ha.yaml")
helm upgrade --install linkerd-control-plane linkerd-edge/linkerd-control-plane --version "$LINKERD_CHART_VERSION" \
  -n linkerd "${cp_values[@]}" \
  --set-file identityTrustAnchorsPEM="$certs/ca.crt" \
  --set-file identity.issuer.tls.crtPEM="$certs/issuer.crt" \
  --set-file identity.issuer.tls.keyPEM="$certs/issuer.key" --wait --timeout 10m

step "linkerd-viz ${LINKERD_VERSION}"
helm upgrade --install linkerd-viz linkerd-edge/linkerd-viz --version "$LINKERD_CHART_VERSION" \
  -n linkerd-viz --create-namespace -f "$here/values/linkerd-viz.yaml" --wait --timeout 10m

step "tracing and logs: OpenTelemetry collector ${OTEL_COLLECTOR_VERSION}, Jaeger ${JAEGER_VERSION}, Loki ${LOKI_VERSION}"
kubectl apply --server-side -k "$here/observability"

if $smi; then
  step "linkerd-smi ${LINKERD_SMI_VERSION} (DEPRECATED: prefer HTTPRoute splits)"
  helm upgrade --install linkerd-smi linkerd-smi/linkerd-smi --version "$LINKERD_SMI_CHART_VERSION" \
    -n linkerd-smi --create-namespace -f "$here/values/linkerd-smi.yaml" --wait
fi

step "Traefik ${TRAEFIK_VERSION} (meshed in ingress mode)"
kubectl create namespace traefik --dry-run=client -o yaml | kubectl apply -f -
if ! kubectl -n traefik get secret emojivoto-tls >/dev/null 2>&1; then
  # A self-signed demo certificate; replace the Secret with a real one for real clients.
  tls=$(mktemp -d)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 \
    -subj /CN=emojivoto.example.com -addext subjectAltName=DNS:emojivoto.example.com \
    -keyout "$tls/tls.key" -out "$tls/tls.crt" 2>/dev/null
  kubectl -n traefik create secret tls emojivoto-tls --cert "$tls/tls.crt" --key "$tls/tls.key"
  rm -rf "$tls"
fi
helm upgrade --install traefik traefik/traefik --version "$TRAEFIK_CHART_VERSION" \
  -n traefik -f "$here/ingress/traefik-values.yaml" --wait
kubectl apply --server-side -f "$here/ingress/gateway.yaml"

step "Grafana ${GRAFANA_VERSION}"
kubectl create namespace grafana --dry-run=client -o yaml | kubectl apply -f -
if ! kubectl -n grafana get secret grafana-admin >/dev/null 2>&1; then
  kubectl -n grafana create secret generic grafana-admin --from-literal=admin-user=admin \
    --from-literal=admin-password="$(openssl rand -base64 24)"
fi
kubectl -n grafana create configmap trafficctl-dashboards --from-file="$here/grafana/dashboards" \
  --dry-run=client -o yaml | kubectl apply --server-side -f -
kubectl apply --server-side -f "$here/grafana/authz.yaml"
helm upgrade --install grafana grafana/grafana --version "$GRAFANA_CHART_VERSION" \
  -n grafana -f "$here/grafana/values.yaml" --wait

step "egress policy for emojivoto"
kubectl create namespace emojivoto --dry-run=client -o yaml | kubectl apply -f -
kubectl apply --server-side -f "$here/egress/emojivoto-egress.yaml"

step "check"
if command -v linkerd >/dev/null; then linkerd check; else kubectl -n linkerd rollout status deploy --timeout 5m; fi
echo "done: deploy the app with  kubectl apply -k deploy/emojivoto/overlays/httproute-canary"
