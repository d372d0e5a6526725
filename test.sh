#!/usr/bin/env bash
# Runs every test of every module in the workspace (the core package, the
# example, redisstore: every module listed in go.work), with the race
# detector. It first installs what the tests need that Go cannot fetch by
# itself: Go modules come through the module proxy on first use; the
# redisstore tests need redis-server (they start their own, unless
# REDIS_ADDR names one) and the example's browser test needs Chromium. Both
# are Debian packages, installed when missing and we may (root with apt-get,
# as in CI); otherwise those tests skip, loudly. The allocation tests run a
# second time without the race detector.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
if [ -z "${REDIS_ADDR:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
	missing+=(redis-server)
fi
if ! command -v chromium >/dev/null 2>&1; then
	missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "test.sh: installing ${missing[*]}" >&2
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	else
		echo "test.sh: ${missing[*]} missing and cannot be installed here: the tests that need them will skip" >&2
	fi
fi

# shellcheck disable=SC2046 # one pattern per workspace module, on purpose
go test -race -count=1 "$@" $(go list -m -f '{{.Dir}}/...')

# Allocation counts are exact only without the race detector (under it,
# sync.Pool drops a random share of what is put back): run those tests again
# without it.
go test -count=1 -run 'Alloc' "$@" .
