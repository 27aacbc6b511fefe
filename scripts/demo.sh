#!/usr/bin/env bash
# make demo: the whole product on this machine, no cluster needed, in under two minutes once the
# kube-apiserver and etcd binaries are cached. It builds trafficctl, starts the sandbox, applies
# ServiceProfiles generated from the demo app's OpenAPI, runs a load scenario, rolls out a
# broken web-v2 (rolled back on its own) then a good one (promoted), shows latency-aware
# balancing beating round robin with one slow replica, writes one HTML report and stops the
# sandbox.
#
# Environment: DEMO_OUT (output directory, default ${TMPDIR:-/tmp}/trafficctl-demo),
# DEMO_SCALE (multiplies every duration; the end-to-end test uses 0.5), TRAFFICCTL (a prebuilt
# binary instead of `make build`).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${DEMO_OUT:-${TMPDIR:-/tmp}/trafficctl-demo}
SCALE=${DEMO_SCALE:-1}
secs() { awk -v s="$1" -v k="$SCALE" 'BEGIN { v = s * k; if (v < 1) v = 1; printf "%ds", v }'; }
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
START=$(date +%s)

if [[ ! -d ${XDG_CACHE_HOME:-$HOME/.cache}/trafficctl/k8s-bins ]]; then
  echo "first run: the sandbox builds etcd and kube-apiserver (~6 min) and, when none is installed,"
  echo "Prometheus (~5 min) from the Go module proxy, once; later runs take about 90 s."
fi
if [[ -z ${TRAFFICCTL:-} ]]; then
  step "build"
  make -s build
  TRAFFICCTL=bin/trafficctl
fi
T=$TRAFFICCTL
rm -rf "$OUT"
mkdir -p "$OUT"
SBX=$OUT/sandbox
BG=
cleanup() {
  if [[ -n $BG ]]; then kill "$BG" 2>/dev/null || true; wait "$BG" 2>/dev/null || true; fi
  "$T" sandbox down --dir "$SBX" || true
}
trap cleanup EXIT

step "sandbox up: API server, Prometheus, demo app (web v1/v2 x 3), data plane"
"$T" sandbox up --dir "$SBX" --replicas 3
eval "$("$T" sandbox env --dir "$SBX")"
WEB=$TRAFFICCTL_SANDBOX_WEB

step "ServiceProfile for web-svc generated from the demo app's OpenAPI, applied"
"$T" profile web-svc -n emojivoto --openapi deploy/emojivoto/api/web.openapi.yaml --apply

step "load scenario: ramp then constant, thresholds p99 < 250ms and 99% success"
cat > "$OUT/scenario.yaml" <<YAML
name: emojivoto-sandbox
targets:
  - {name: list, url: "$WEB/api/list", weight: 60}
  - {name: vote, url: "$WEB/api/vote?choice=:joy:", weight: 30}
  - {name: leaderboard, url: "$WEB/api/leaderboard", weight: 10}
stages:
  - {name: warm-up, type: ramp, from: 20, to: 150, duration: $(secs 5)}
  - {name: steady, type: constant, rate: 150, duration: $(secs 8)}
thresholds: {p99: 250ms, minSuccess: 99}
YAML
"$T" load run "$OUT/scenario.yaml" -o json > "$OUT/load.json"
echo "load scenario passed its thresholds (report: $OUT/load.json)"

cat > "$OUT/canary.yaml" <<YAML
apiVersion: trafficctl.dev/v1alpha1
kind: Canary
metadata: {name: web, namespace: emojivoto}
spec:
  apex: web-svc
  stable: {service: web-v1, deployment: web-v1}
  canary: {service: web-v2, deployment: web-v2}
  # The ServiceProfile applied above overrides HTTPRoutes in Linkerd (and in the sandbox's data
  # plane); a TrafficSplit still steers it.
  router: smi
  steps: [10, 25, 50, 100]
  interval: $(secs 2)
  scrapeInterval: 1s
  minRequests: 20
  deadline: $(secs 90)
  prometheus: $TRAFFICCTL_SANDBOX_PROMETHEUS
  metrics:
    - {name: success-rate, type: success-rate, min: 99}
    # An absolute bound: on a busy laptop the p99 ratio between two identical versions is noisy.
    - {name: p99, type: latency, max: 300}
YAML
"$T" load attack "$WEB/api/list" --rate 120/s --duration 300s -o json > /dev/null 2>&1 &
BG=$!

step "canary of a broken web-v2 (20% HTTP 500): rolled back on its own"
"$T" sandbox set web-v2 --failure-rate 20 --dir "$SBX"
set +e
"$T" canary run "$OUT/canary.yaml" -n emojivoto
code=$?
set -e
if [[ $code -ne 3 ]]; then echo "demo: the broken canary ended with exit $code, want 3 (rolled back)" >&2; exit 1; fi
echo "(exit 3 as expected: the broken web-v2 was rolled back, all traffic is on web-v1 again)"

step "canary of a good web-v2: promoted"
"$T" sandbox set web-v2 --dir "$SBX"
"$T" canary run "$OUT/canary.yaml" -n emojivoto
kill "$BG"; wait "$BG" 2>/dev/null || true; BG=

step "latency-aware balancing: web-v2-0 turns slow (+80ms)"
"$T" sandbox set web-v2 --replica 0 --delay 80ms --dir "$SBX"
for mode in round-robin ewma; do
  "$T" sandbox balance "$mode" --dir "$SBX"
  curl -fsS "$TRAFFICCTL_SANDBOX_METRICS" > "$OUT/metrics-$mode-before.txt"
  "$T" load attack "$WEB/api/list" --rate 100/s --duration "$(secs 8)" -o json > "$OUT/balance-$mode.json"
  curl -fsS "$TRAFFICCTL_SANDBOX_METRICS" > "$OUT/metrics-$mode-after.txt"
done
"$T" sandbox balance ewma --dir "$SBX" >/dev/null

step "report"
"$T" canary history web-svc -n emojivoto -o json > "$OUT/canary-history.json"
"$T" sandbox report "$OUT"
echo "demo finished in $(( $(date +%s) - START ))s"
cat <<EOF

Run it again: make demo (about 90 s now: the servers are built and cached in ~/.cache/trafficctl).
Open the report: $OUT/report.html
Try next, by hand:
  bin/trafficctl sandbox up && eval "\$(bin/trafficctl sandbox env)"
  bin/trafficctl split set web-svc -n emojivoto web-v1=90 web-v2=10
  bin/trafficctl sandbox set web-v2 --failure-rate 30
  bin/trafficctl topology -n emojivoto --prometheus \$TRAFFICCTL_SANDBOX_PROMETHEUS
  bin/trafficctl sandbox down
EOF
