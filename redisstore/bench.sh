#!/usr/bin/env bash
# Measures what a revocation store costs on the request path:
# BenchmarkHS256 with no store, the in-memory store and the Redis store, each
# in a process of its own, in interleaved rounds, summarised with benchstat
# -col /store. Separate processes keep each store's figures from running
# after another's in the same process and heap, always in the same order.
#
# BENCH=revokeall measures instead what checking a subject's revocation
# ("sign out everywhere") adds: BenchmarkRevokeAll with subjects=off and
# subjects=on, the same way, summarised with benchstat -col /subjects.
#
# ROUNDS (default 10) adjusts it. Needs redis-server, as the tests do.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${ROUNDS:-10}
out=${OUT:-$(mktemp -d)/bench.txt}
command -v benchstat >/dev/null || go install golang.org/x/perf/cmd/benchstat@latest
PATH=$PATH:$(go env GOPATH)/bin
case ${BENCH:-stores} in
stores) bench=BenchmarkHS256 col=store values="none memory redis" ;;
revokeall) bench=BenchmarkRevokeAll col=subjects values="off on" ;;
*) echo "BENCH=${BENCH}: want stores or revokeall" >&2; exit 2 ;;
esac
bin=$(mktemp)
go test -c -o "$bin" .
for _ in $(seq "$rounds"); do
	for v in $values; do
		"$bin" -test.run '^$' -test.bench "^$bench\$/$col=$v/" -test.benchmem -test.count 1
	done
done > "$out"
rm -f "$bin"
benchstat -col "/$col" "$out"
echo "raw results: $out"
