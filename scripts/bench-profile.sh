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
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf '%-12s %8s %8s %8s %16s %7s\n' tool "wall(s)" "user(s)" "sys(s)" "maxRSS(MB) med" routes
for name in ref trafficctl; do
	f="$tmp/times.$name"
	printf '%-12s %8s %8s %8s %16s %7s   (medians of %d runs; RSS min-max %s-%s MB)\n' "$name" \
		"$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f3 "$f" | median)" \
		"$(cut -d' ' -f4 "$f" | median | awk '{printf "%.1f", $1/1024}')" \
		"$(grep -c '^  - condition' "$tmp/out.$name")" "$(wc -l <"$f")" \
		"$(cut -d' ' -f4 "$f" | sort -n | head -1 | awk '{printf "%.1f", $1/1024}')" \
		"$(cut -d' ' -f4 "$f" | sort -n | tail -1 | awk '{printf "%.1f", $1/1024}')"
done
