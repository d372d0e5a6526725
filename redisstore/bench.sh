#!/usr/bin/env bash
# Measures what a revocation store costs on the request path:
# BenchmarkHS256 with no store, the in-memory store and the Redis store, each
# in a process of its own, in interleaved rounds, summarised with benchstat
# -col /store. Separate processes keep each store's figures from running
# after another's in the same process and heap, always in the same order.
# ROUNDS (default 10) adjusts it. Needs redis-server, as the tests do.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${ROUNDS:-10}
out=${OUT:-$(mktemp -d)/bench.txt}
command -v benchstat >/dev/null || go install golang.org/x/perf/cmd/benchstat@latest
PATH=$PATH:$(go env GOPATH)/bin
bin=$(mktemp)
go test -c -o "$bin" .
for _ in $(seq "$rounds"); do
	for store in none memory redis; do
		"$bin" -test.run '^$' -test.bench "BenchmarkHS256/store=$store/" -test.benchmem -test.count 1
	done
done > "$out"
rm -f "$bin"
benchstat -col /store "$out"
echo "raw results: $out"
