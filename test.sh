#!/usr/bin/env bash
# Runs every test of every module in the workspace (the core package, the
# example and any other module listed in go.work), with the race detector.
# It first installs what the tests need that Go cannot fetch by itself.
set -euo pipefail
cd "$(dirname "$0")"

# Go modules come through the module proxy on first use. The redisstore
# tests need a redis-server (they start their own, unless REDIS_ADDR names
# one): install the Debian package when it is missing and we may (CI runs
# as root on Debian); otherwise those tests skip, loudly.
if [ -z "${REDIS_ADDR:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "test.sh: installing redis-server" >&2
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
	else
		echo "test.sh: redis-server missing and cannot be installed here: the redisstore tests will skip" >&2
	fi
fi

# shellcheck disable=SC2046 # one pattern per workspace module, on purpose
go test -race -count=1 "$@" $(go list -m -f '{{.Dir}}/...')
