#!/usr/bin/env bash
# Runs the peer comparison (../shared/bench/peers, relative to the repository
# root) with jwtguard in it, uncached (mw=jwtguard) and cached
# (mw=jwtguard-cached): copies the harness to a scratch directory, drops in
# adapter_jwtguard_test.go, points the harness at this checkout with a
# replace, checks the adapters, then runs the harness's run.sh.
#
#   bench/peers/run.sh                       # everything: ~20 min on 2 cores
#   ROUNDS=6 BENCH='/(mw=(bare|golangjwt-diy|jwtguard|jwtguard-cached)|claims=registered|alg=)(/alg=(HS256|ES256))?$' bench/peers/run.sh
#
# ROUNDS, BENCH, BENCHTIME, CPU and TAG (default jwtguard) are passed to the
# harness's run.sh. Results land in $OUT (default $TMPDIR/jwtguard-peers-results,
# outside the repository). Start it in the background and poll:
#   nohup bench/peers/run.sh > peers.log 2>&1 &
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
harness=${HARNESS:-$root/../shared/bench/peers}
out=${OUT:-${TMPDIR:-/tmp}/jwtguard-peers-results}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cp -r "$harness" "$scratch/peers"
cp "$root/bench/peers/adapter_jwtguard_test.go" "$scratch/peers/"
cd "$scratch/peers"
rm -rf results
go mod edit -replace "github.com/jwtguard/jwtguard=$root"
go mod edit -require "github.com/jwtguard/jwtguard@v0.0.0-00010101000000-000000000000"
export GOFLAGS="-buildvcs=false -tags=peerbench"
export GOWORK=off
go mod tidy
echo "== go.mod changes against the harness (shared dependencies raised for the peers too?)"
diff "$harness/go.mod" go.mod || true

echo "== TestAdapters for jwtguard"
go test -count=1 -run 'TestAdapters/mw=jwtguard' -v . | grep -E '^(=== RUN|--- |ok|FAIL|PASS)' | grep -v '=== RUN' || true
go test -count=1 -run 'TestAdapters/mw=jwtguard' .

TAG=${TAG:-jwtguard} ./run.sh
mkdir -p "$out"
cp results/* "$out/"
echo "== results copied to $out"
