#!/bin/sh
# Every Check program of tests/unit under valgrind memcheck: fails if
# memcheck reports an error (an invalid read or write, a use of an
# uninitialised value, a bad free, a bad system call argument) or a
# definitely or indirectly lost block, in a program or in any process it
# forks.  Prints one line per program and, for a failure, its report.
#
# Check runs each test in a forked child (CK_FORK=yes, forced here: the
# exit tests need it).  valgrind follows fork() by itself, so each test's
# code runs under memcheck and its leaks are checked when its child
# exits.  --trace-children is left off: the unit tests exec only sh, git
# and the like, not code of ours.  A child that execs (a worker being
# spawned) never exits under valgrind, so errors are found by reading
# every process's log for the error markers, not from exit statuses.
#
# valgrind cannot run a program built with AddressSanitizer: in such a
# build (configure --enable-sanitizers, as tests/check-all's own build)
# this exits 77 (skip) even under SKILLBOX_STRICT=1; the plain build of
# "make distcheck" runs it.  Without valgrind it exits 77, or 1 under
# SKILLBOX_STRICT=1.
#
# The programs run two at a time (one per CPU, at most), largest first.
# SKILLBOX_VALGRIND_OPTS adds options, e.g. --track-origins=yes to see
# where an uninitialised value came from (slower, so not the default).
set -u

top_builddir=${abs_top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
valgrind=${VALGRIND:-valgrind}
vgexit=97		# a process memcheck found errors in exits with this
begin='==VALGRIND-ERROR-BEGIN=='
end='==VALGRIND-ERROR-END=='
maxlines=300		# of the report printed per program

# One program: valgrind's logs in DIR/vg.PID, its output in DIR/out and
# its status in DIR/status; says how it went in one line as soon as it
# ends.  Slower under valgrind, Check's timeouts are stretched 5 times
# (the 20 s default is 100 s).
run_one() {
	dir=$1/${2##*/}
	mkdir "$dir" || exit 1
	start=$(date +%s)
	# shellcheck disable=SC2086	# the added options are split on purpose
	CK_FORK=yes CK_TIMEOUT_MULTIPLIER=5 "$valgrind" -q --tool=memcheck \
	    --error-exitcode=$vgexit --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect \
	    --show-leak-kinds=definite,indirect --num-callers=24 \
	    --error-markers="$begin,$end" --vgdb=no \
	    ${SKILLBOX_VALGRIND_OPTS:-} \
	    --log-file="$dir/vg.%p" "$2" >"$dir/out" 2>&1
	status=$?
	echo $status >"$dir/status"
	errors=$(cat "$dir"/vg.* 2>/dev/null | grep -c -- "$begin")
	summary=$(grep '%: Checks: ' "$dir/out" | tail -1)
	echo "${2##*/}: ${summary:-no summary}; exit $status," \
	    "$errors valgrind errors ($(($(date +%s) - start)) s)"
}

if [ "${1:-}" = --one ]; then
	run_one "$2" "$3"
	exit 0
fi

skip() {
	echo "valgrind.sh: SKIP: $*"
	exit 77
}

# shellcheck disable=SC2012	# ls -S: largest first
progs=$(ls -S "$top_builddir"/tests/unit/check_* 2>/dev/null |
    while read -r p; do
	case ${p##*/} in
	*.*) ;;
	*) [ -x "$p" ] && echo "$p" ;;
	esac
    done)
if [ -z "$progs" ]; then
	echo "valgrind.sh: no Check programs in $top_builddir/tests/unit"
	exit 1
fi
for p in $progs; do
	grep -q __asan_init "$p" &&
	    skip "${p##*/} is built with AddressSanitizer" \
		"(configure --enable-sanitizers), which valgrind cannot" \
		"run; the plain build of make distcheck runs this test"
done
if ! "$valgrind" --version >/dev/null 2>&1; then
	[ "${SKILLBOX_STRICT:-0}" = 1 ] &&
	    { echo "valgrind.sh: FAIL: $valgrind is missing"; exit 1; }
	skip "$valgrind is missing"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/skillbox-vg.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
jobs=$(nproc 2>/dev/null || echo 1)
[ "$jobs" -gt 2 ] && jobs=2
start=$(date +%s)
echo "$progs" | xargs -n 1 -P "$jobs" "$0" --one "$tmp"

failed=0
for p in $progs; do
	dir=$tmp/${p##*/}
	status=$(cat "$dir/status" 2>/dev/null || echo "not run")
	errors=$(cat "$dir"/vg.* 2>/dev/null | grep -c -- "$begin")
	[ "$status" = 0 ] && [ "$errors" -eq 0 ] && continue
	failed=$((failed + 1))
	# "not ok": what tests/check-all shows of a failed test.
	echo "not ok - ${p##*/}: exit $status, $errors valgrind errors"
	if [ "$status" != 0 ]; then
		echo "--- ${p##*/}: its failed checks (or its last lines)"
		grep ':[FE]:' "$dir/out" >"$dir/failures" ||
		    tail -20 "$dir/out" >"$dir/failures"
		sed 's/^/    /' "$dir/failures" | head -40
	fi
	for f in "$dir"/vg.*; do
		[ -s "$f" ] && cat "$f"
	done | grep -v -- "$end" | sed "s/$begin/---/" >"$dir/report"
	[ -s "$dir/report" ] || continue
	echo "--- ${p##*/}: valgrind's report, one block per error" \
	    "(==PID== names the process; a test's process that had errors" \
	    "exits $vgexit)"
	head -$maxlines "$dir/report"
	[ "$(wc -l <"$dir/report")" -gt $maxlines ] &&
	    echo "(the report goes on: $(wc -l <"$dir/report") lines in all)"
done
echo "valgrind.sh: $(echo "$progs" | wc -l) programs in" \
    "$(($(date +%s) - start)) s, $failed failed"
[ "$failed" -eq 0 ]
