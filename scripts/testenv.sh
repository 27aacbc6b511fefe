#!/usr/bin/env bash
# Start or stop a local etcd + kube-apiserver (v1.34, from the Go module proxy) with the upstream
# Linkerd, Gateway API and SMI CRDs, on 127.0.0.1, for trying trafficctl by hand.
#   scripts/testenv.sh up      # prints: export KUBECONFIG=...   (eval "$(scripts/testenv.sh up)")
#   scripts/testenv.sh up --node   # the same plus a real node (root; Debian's containerd, runc,
#                                  # containernetworking-plugins, iptables) with make images' images
#   scripts/testenv.sh down
#   scripts/testenv.sh bins    # only build/cache the binaries (first time ~6 min)
# The servers keep running until `down`; state lives in .cache/testenv.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./internal/localk8s/testenvctl "$@"
