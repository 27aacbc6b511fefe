#!/usr/bin/env bash
# Create a local k3d cluster for the platform (needs Docker and k3d, pinned in versions.env).
# k3s's bundled Traefik is disabled: deploy/linkerd installs its own, pinned and meshed.
#
#   scripts/cluster-up.sh [NAME]    # default NAME: trafficctl
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../versions.env
source "$here/versions.env"
name=${1:-trafficctl}

command -v docker >/dev/null || { echo "error: docker not found: install Docker first" >&2; exit 2; }
docker info >/dev/null 2>&1 || { echo "error: the Docker daemon is not reachable: start it, or check your permissions" >&2; exit 1; }
if ! command -v k3d >/dev/null; then
  echo "error: k3d not found: install k3d ${K3D_VERSION} (https://k3d.io) and re-run" >&2
  exit 2
fi
if k3d cluster get "$name" >/dev/null 2>&1; then
  echo "cluster $name exists; using it"
else
  k3d cluster create "$name" --image "$K3S_IMAGE" --agents 2 \
    --k3s-arg '--disable=traefik@server:0' \
    --port '443:443@loadbalancer' --wait
fi
kubectl config use-context "k3d-$name"
kubectl get nodes
