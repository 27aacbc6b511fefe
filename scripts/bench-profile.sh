#!/usr/bin/env bash
# Compare `trafficctl profile` with Linkerd's own generator (linkerd-profile-ref) on the
# Kubernetes OpenAPI v2 document, as whole processes: wall time, CPU and peak RSS.
#
#   scripts/bench-profile.sh [RUNS]
#
# Needs /usr/bin/time (GNU). Builds trafficctl and, from ../shared/tools/linkerd-profile-ref
# (or $TRAFFICCTL_LINKERD_PROFILE_REF when set), the reference binary into a temp directory.
set -euo pipefail
runs=${1:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$repo" && go build -o "$tmp/trafficctl" ./cmd/trafficctl)
ref=${TRAFFICCTL_LINKERD_PROFILE_REF:-}
if [[ -z "$ref" ]]; then
	(cd "$repo/../shared/tools/linkerd-profile-ref" && go build -o "$tmp/linkerd-profile-ref" .)
	ref="$tmp/linkerd-profile-ref"
fi
dir=$(cd "$repo" && go mod download -json k8s.io/kubernetes@v1.34.4 | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
spec="$dir/api/openapi-spec/swagger.json"
[[ -f "$spec" ]] || { echo "no $spec" >&2; exit 1; }

measure() { # name cmd...
	local name=$1; shift
	/usr/bin/time -f "%e %U %S %M" -o "$tmp/t" "$@" >"$tmp/out.$name" 2>/dev/null
	read -r wall user sys rss <"$tmp/t"
	echo "$wall $user $sys $rss" >>"$tmp/times.$name"
}
for ((i = 0; i < runs; i++)); do
	measure ref "$ref" "$spec" default kube
	measure trafficctl "$tmp/trafficctl" profile kube -n default --openapi "$spec"
done
printf '%-12s %8s %8s %8s %10s %7s\n' tool "wall(s)" "user(s)" "sys(s)" "maxRSS(MB)" routes
for name in ref trafficctl; do
	sort -n "$tmp/times.$name" | awk -v n="$name" -v routes="$(grep -c '^  - condition' "$tmp/out.$name")" '
		{ w[NR]=$1; u[NR]=$2; s[NR]=$3; m[NR]=$4 }
		END { mid=int((NR+1)/2); printf "%-12s %8.2f %8.2f %8.2f %10.1f %7d   (median of %d runs by wall time)\n", n, w[mid], u[mid], s[mid], m[mid]/1024, routes, NR }'
done
