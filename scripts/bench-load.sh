#!/usr/bin/env bash
# Maximum sustained rate on loopback, side by side in one run: trafficctl load vs the vegeta CLI
# (v12.12.0, built from ../shared/tools/vegeta-cli) vs wrk, against the same trivial server, with
# the same number of connections, each for a short bounded run. All traffic stays on 127.0.0.1.
#
#   scripts/bench-load.sh                 # 64 connections, 5 s per tool
#   CONNS=16 DURATION=3s scripts/bench-load.sh
set -euo pipefail

CONNS=${CONNS:-64}
DURATION=${DURATION:-5s}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$(cd "$root/.." && pwd)/shared}
work=$(mktemp -d)
server_pid=""
cleanup() {
	if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "building trafficctl, vegeta and the loopback server..." >&2
(cd "$root" && go build -o "$work/trafficctl" ./cmd/trafficctl)
vegeta=${VEGETA:-}
if [[ -z $vegeta ]]; then
	(cd "$shared/tools/vegeta-cli" && go build -o "$work/vegeta" github.com/tsenart/vegeta/v12)
	vegeta=$work/vegeta
fi
if ! command -v wrk >/dev/null; then
	echo "wrk is missing: apt-get install -y wrk" >&2
	exit 1
fi

# The trivial server: a 2-byte body, keep-alive, nothing else. It prints its address.
mkdir -p "$work/server"
cat >"$work/server/main.go" <<'GO'
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	body := []byte("ok")
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
}
GO
(cd "$work/server" && go mod init benchserver >/dev/null 2>&1 && go build -o "$work/srv" .)
"$work/srv" >"$work/addr" &
server_pid=$!
for _ in $(seq 50); do [[ -s $work/addr ]] && break; sleep 0.1; done
url="http://$(cat "$work/addr")/"

json_rate() { sed -n 's/^ *"rate": *\([0-9.]*\),*$/\1/p' | head -1; }

echo "target $url, $CONNS connections, $DURATION per tool" >&2
t_rate=$("$work/trafficctl" load attack "$url" --rate max --connections "$CONNS" --duration "$DURATION" -o json | json_rate)
sleep 1
v_rate=$(echo "GET $url" | "$vegeta" attack -rate=0 -max-workers="$CONNS" -connections="$CONNS" -max-connections="$CONNS" -duration="$DURATION" |
	"$vegeta" report -type=json | tr ',' '\n' | sed -n 's/^"rate":\([0-9.]*\)$/\1/p')
sleep 1
w_rate=$(wrk -t2 -c"$CONNS" -d"$DURATION" "$url" | sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p')

printf '%-12s %12s %10s\n' tool "req/s" "vs vegeta"
for row in "trafficctl:$t_rate" "vegeta:$v_rate" "wrk:$w_rate"; do
	name=${row%%:*}
	rate=${row#*:}
	awk -v n="$name" -v r="$rate" -v v="$v_rate" 'BEGIN { printf "%-12s %12.0f %9.2fx\n", n, r, r / v }'
done
