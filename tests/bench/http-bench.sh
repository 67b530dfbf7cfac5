#!/bin/sh
# The HTTP host under load: get_job over Streamable HTTP with 100
# concurrent keep-alive clients (wrk), p50/p99 latency and requests per
# second; skillboxd's RSS idle before and after.  Measures and prints,
# never fails on a number; measure from a build without sanitizers.
#
# usage: http-bench.sh [seconds] [connections] [pause-ms]
#	(from the build directory, or with abs_top_builddir set).  Each
#	connection sends its next request as soon as it has the answer
#	(a closed loop: latency is then the queue), or pause-ms after it.
set -eu

secs=${1:-10}
conns=${2:-100}
pause=${3:-0}
build=${abs_top_builddir:-$(pwd)}
sbd=$build/supervisor/skillboxd
worker=$build/tests/fake-worker/fake-worker
if ! command -v wrk >/dev/null 2>&1; then
	echo "http-bench: wrk is not installed (apt-get install wrk); skipped"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/skillbox-bench.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/state" "$work/repo" "$work/skills"
token=bench-token-0123456789abcdef
printf '%s\n' "$token" >"$work/token"

SKILLBOX_STATE_DIR=$work/state SKILLBOX_WORKER=$worker \
    SKILLBOX_SKILLS_DIR=$work/skills SKILLBOX_ALLOWED_ROOTS=$work \
    SKILLBOX_TOKEN_FILE=$work/token \
    "$sbd" --listen 127.0.0.1:0 2>"$work/log" &
pid=$!
url=
i=0
while [ -z "$url" ]; do
	sleep 0.1
	url=$(sed -n 's/.*serving MCP over HTTP at \(http:[^ ]*\).*/\1/p' \
	    "$work/log")
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "http-bench: skillboxd did not start:"
		cat "$work/log"
		exit 1
	fi
done

rss() { awk '/^VmRSS/ { print $2 " kB" }' "/proc/$pid/status"; }
rss_fresh=$(rss)

# One session; one finished job for get_job to return.
h() {
	curl -s -D "$work/headers" -H "Authorization: Bearer $token" \
	    -H 'Content-Type: application/json' \
	    -H 'Accept: application/json, text/event-stream' "$@" "$url"
}
h -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{
"protocolVersion":"2025-11-25","capabilities":{},
"clientInfo":{"name":"bench","version":"1"}}}' >/dev/null
sid=$(tr -d '\r' <"$work/headers" | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
hs() { h -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-11-25' "$@"; }
hs -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
job=$(hs -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{
"name":"submit_job","arguments":{"repo":{"path":"'"$work/repo"'"},
"job":"fix-tests"}}}' | sed -n 's/.*"job_id":"\(j-[0-9a-f]*\)".*/\1/p')
hs -d '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{
"name":"wait_job","arguments":{"job_id":"'"$job"'","timeout_s":30}}}' \
    >/dev/null
body='{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_job","arguments":{"job_id":"'"$job"'"}}}'
bytes=$(hs -d "$body" | wc -c)

cat >"$work/get_job.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Session-Id"] = "$sid"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
function delay()
	return $pause
end
LUA
# skillboxd's user and system CPU so far, in clock ticks.
ticks() { awk '{ print $14, $15 }' "/proc/$pid/stat"; }
rss_before=$(rss)
echo "get_job over HTTP: $conns connections, $secs s, a pause of $pause ms," \
    "answers of $bytes bytes"
set -- $(ticks)
wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$work/get_job.lua" "$url" \
    >"$work/wrk"
sed -n '/Latency Distribution/,/Requests\/sec/p;/Non-2xx/p;/Socket errors/p' \
    "$work/wrk"
n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$work/wrk")
hz=$(getconf CLK_TCK)
ticks | awk -v u0="$1" -v s0="$2" -v n="$n" -v hz="$hz" '{
	printf "skillboxd CPU per request: %.1f us user, %.1f us system\n",
	    ($1 - u0) * 1e6 / hz / n, ($2 - s0) * 1e6 / hz / n }'
sleep 1
echo "skillboxd RSS: idle at start $rss_fresh, before the load $rss_before," \
    "idle after it $(rss)"
kill -TERM "$pid"
wait "$pid" || true
pid=
