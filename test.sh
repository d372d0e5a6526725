#!/usr/bin/env bash
# Runs every test of every module in the workspace (the core package, the
# example and any other module listed in go.work), with the race detector.
# It first installs what the tests need that Go cannot fetch by itself.
set -euo pipefail
cd "$(dirname "$0")"

# Go modules come through the module proxy on first use; nothing else is
# needed yet.

# shellcheck disable=SC2046 # one pattern per workspace module, on purpose
go test -race -count=1 "$@" $(go list -m -f '{{.Dir}}/...')
