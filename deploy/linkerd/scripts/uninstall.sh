#!/usr/bin/env bash
# Remove what install-linkerd.sh installed, in reverse order. The app namespace (emojivoto) is
# deleted first, so no meshed pod outlives its control plane. Gateway API CRDs are left in
# place unless --crds is given: other controllers may use them.
#
#   scripts/uninstall.sh [--crds]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../versions.env
source "$here/versions.env"
crds=false
for arg in "$@"; do
  case $arg in
    --crds) crds=true ;;
    *) echo "error: unknown argument $arg: use --crds" >&2; exit 2 ;;
  esac
done

kubectl delete namespace emojivoto --ignore-not-found --wait
helm uninstall grafana -n grafana --ignore-not-found
kubectl delete -f "$here/grafana/authz.yaml" --ignore-not-found
kubectl delete namespace grafana --ignore-not-found
kubectl delete -f "$here/ingress/gateway.yaml" --ignore-not-found
helm uninstall traefik -n traefik --ignore-not-found
kubectl delete namespace traefik --ignore-not-found
helm uninstall linkerd-smi -n linkerd-smi --ignore-not-found
kubectl delete namespace linkerd-smi --ignore-not-found
kubectl delete -k "$here/observability" --ignore-not-found
helm uninstall linkerd-viz -n linkerd-viz --ignore-not-found
kubectl delete namespace linkerd-viz --ignore-not-found
helm uninstall linkerd-control-plane -n linkerd --ignore-not-found
helm uninstall linkerd-crds -n linkerd --ignore-not-found
kubectl delete namespace linkerd --ignore-not-found
if $crds; then
  kubectl delete -f "https://github.com/kubernetes-sigs/gateway-api/releases/download/${GATEWAY_API_VERSION}/experimental-install.yaml" --ignore-not-found
fi
echo "uninstalled (certificates kept in $here/certs)"
