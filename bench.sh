#!/usr/bin/env bash
# Runs the package benchmarks in interleaved rounds (every benchmark once a
# round, so machine noise spreads over all of them) and summarises them with
# benchstat. ROUNDS (default 8) and BENCH (a -test.bench regexp) adjust it.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${ROUNDS:-8}
bench=${BENCH:-.}
out=${OUT:-$(mktemp -d)/bench.txt}
command -v benchstat >/dev/null || go install golang.org/x/perf/cmd/benchstat@latest
bin=$(mktemp)
go test -c -o "$bin" .
for _ in $(seq "$rounds"); do
	"$bin" -test.run '^$' -test.bench "$bench" -test.benchmem -test.count 1
done > "$out"
rm -f "$bin"
PATH=$PATH:$(go env GOPATH)/bin
benchstat -col /impl "$out" 2>/dev/null || true
benchstat "$out"
echo "raw results: $out"
