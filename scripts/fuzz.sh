#!/usr/bin/env bash
# Runs every Fuzz* target of the module for FUZZTIME each (default 60s). Go minimises a failing
# input for up to 60 s by default, which ate short runs whole: -fuzzminimizetime is kept low
# (FUZZMINIMIZETIME, default 5s) so the time goes to fuzzing. Stops at the first failure.
set -euo pipefail
FUZZTIME=${FUZZTIME:-60s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-5s}
GO=${GO:-go}
cd "$(dirname "$0")/.."
found=0
while IFS= read -r file; do
	pkg="./$(dirname "$file")"
	for name in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
		found=$((found + 1))
		echo "== $pkg $name ($FUZZTIME)"
		"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "$pkg"
	done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | sort)
echo "ran $found fuzz targets"
