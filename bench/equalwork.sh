#!/usr/bin/env bash
# equalwork.sh runs BenchmarkEqualWork (account/timing_bench_test.go) count
# times and prints, for each request kind and each state of an address
# beside an existing account, the median over the runs of the two median
# request times and of their ratio. It runs on SQLite, and on PostgreSQL
# too when SIGRA_TEST_POSTGRES is set. Timing is reported, never asserted.
#
#   bench/equalwork.sh [count] [benchtime]    # default 5 runs of 200x
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-5}"
benchtime="${2:-200x}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

go test -run '^$' -bench EqualWork -benchtime "$benchtime" -count "$count" ./account/ | tee "$out"

echo
echo "median over $count runs of $benchtime pairs (ms; ratio = state/existing)"
awk '
function median(list,    v, n, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++) {
		t = v[i]
		for (j = i - 1; j >= 1 && v[j] + 0 > t + 0; j--) v[j + 1] = v[j]
		v[j + 1] = t
	}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
/^BenchmarkEqualWork\// {
	name = $1
	sub(/^BenchmarkEqualWork\//, "", name)
	sub(/-[0-9]+$/, "", name)
	split(name, part, "/")
	state = part[3]
	if (!(name in seen)) { seen[name] = 1; order[++n] = name }
	for (i = 3; i < NF; i += 2) {
		if ($(i + 1) == "existing-ms") ex[name] = ex[name] " " $i
		else if ($(i + 1) == state "-ms") st[name] = st[name] " " $i
		else if ($(i + 1) == state "/existing") ra[name] = ra[name] " " $i
	}
	runs[name]++
}
END {
	printf "%-9s %-7s %-12s %12s %10s %8s %5s\n", "backend", "request", "state", "existing ms", "state ms", "ratio", "runs"
	for (k = 1; k <= n; k++) {
		name = order[k]
		split(name, part, "/")
		printf "%-9s %-7s %-12s %12.3f %10.3f %8.3f %5d\n", part[1], part[2], part[3], median(ex[name]), median(st[name]), median(ra[name]), runs[name]
	}
}' "$out"
