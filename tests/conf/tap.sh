# Sourced by the tests/conf scripts: a scratch directory $tmp (removed at
# exit, after the script's own tap_cleanup), "ok N - what" lines with the
# diagnostics a failed check left in $tmp/diag, and skipping for a
# missing tool (a failure under SKILLBOX_STRICT=1).

tmp=$(mktemp -d "${TMPDIR:-/tmp}/skillbox-conf.XXXXXX") || exit 1
n=0
failed=0

tap_cleanup() {
	:
}
# What to add to $tmp/diag when a check fails; a script may redefine it.
tap_diag() {
	:
}
trap 'tap_cleanup; rm -rf "$tmp"' EXIT

# ok STATUS WHAT: one result line; on failure, the diagnostics.
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		tap_diag >>"$tmp/diag"
		sed 's/^/#   /' "$tmp/diag" | head -40
	fi
	: >"$tmp/diag"
}

# need TOOL...: exit 77 (skip) when one is missing, 1 when strict.
need() {
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 && continue
		echo "$0: $tool is missing" >&2
		[ "${SKILLBOX_STRICT:-0}" = 1 ] && exit 1
		exit 77
	done
}

# The plan, and the script's status.
tap_done() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}
