#!/usr/bin/env bash
# Runs every test of every module in the workspace (the core package, the
# example, redisstore: every module listed in go.work), with the race
# detector. It first installs what the tests need that Go cannot fetch by
# itself: Go modules come through the module proxy on first use; the
# redisstore tests need redis-server (they start their own, unless
# REDIS_ADDR names one) and the example's browser test needs Chromium. Both
# are Debian packages, installed when missing and we may (root with apt-get,
# as in CI, waiting up to ten minutes for the dpkg lock that a fresh
# machine's unattended upgrades may hold); otherwise those tests skip,
# loudly. The allocation tests run a second time without the race detector.
#
# Every step runs even when an earlier one fails; the script then names the
# steps that failed and exits 1.
set -uo pipefail
cd "$(dirname "$0")" || exit 1

failed=()
# step NAME COMMAND...: runs the command and records NAME if it fails.
step() {
	local name=$1
	shift
	if ! "$@"; then
		failed+=("$name")
	fi
}

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
		lock=(-o DPkg::Lock::Timeout=600)
		if ! apt-get "${lock[@]}" update -qq >/dev/null ||
			! DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -qq "${missing[@]}" >/dev/null; then
			echo "test.sh: could not install ${missing[*]}: the tests that need them will skip" >&2
			failed+=("install ${missing[*]}")
		fi
	else
		echo "test.sh: ${missing[*]} missing and cannot be installed here: the tests that need them will skip" >&2
	fi
fi

# One go test for every module, so that their packages run in parallel; it
# runs every package whatever fails, and names each that does.
patterns=$(go list -m -f '{{.Dir}}/...') || exit 1
# shellcheck disable=SC2086 # one pattern per workspace module, on purpose
step "go test -race (every module)" go test -race -count=1 "$@" $patterns

# Allocation counts are exact only without the race detector (under it,
# sync.Pool drops a random share of what is put back): run those tests again
# without it.
step "allocation tests (no -race)" go test -count=1 -run 'Alloc' "$@" .

if [ ${#failed[@]} -gt 0 ]; then
	printf 'test.sh: FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "test.sh: all steps passed" >&2
