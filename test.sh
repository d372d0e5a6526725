#!/usr/bin/env bash
# Runs every test of every module in the workspace (the core package, the
# example and any other module listed in go.work), with the race detector.
# It first installs what the tests need that Go cannot fetch by itself.
set -euo pipefail
cd "$(dirname "$0")"

# Go modules come through the module proxy on first use. The example's
# browser test needs Chromium (it skips, loudly, without it): install the
# Debian package when it is missing and we can (root with apt-get, as in CI).
if ! command -v chromium >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "test.sh: installing chromium for the example's browser test" >&2
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	else
		echo "test.sh: chromium is not installed: the example's browser test will be skipped" >&2
	fi
fi

# shellcheck disable=SC2046 # one pattern per workspace module, on purpose
go test -race -count=1 "$@" $(go list -m -f '{{.Dir}}/...')
