# skillbox: run Claude Code headless on the job (as the sandbox user).
# In:  ~/.skillbox/prompt.txt; SKILLBOX_MAX_TURNS, SKILLBOX_MODEL
#      (optional); the Anthropic key in this process's environment only.
# Out: stream-json on stdout, also kept in ~/.skillbox/agent.jsonl so that
#      output produced while nobody listened can be fetched afterwards.
# SIGTERM stops the agent and this script.
cd "$HOME/repo" || exit 70
out=$HOME/.skillbox/agent.jsonl
prompt=$(cat "$HOME/.skillbox/prompt.txt") || exit 70
set -- -p "$prompt" --output-format stream-json --verbose \
    --setting-sources user --dangerously-skip-permissions \
    --max-turns "${SKILLBOX_MAX_TURNS:-200}"
[ -z "${SKILLBOX_MODEL:-}" ] || set -- "$@" --model "$SKILLBOX_MODEL"
: > "$out"
claude "$@" < /dev/null > "$out" 2> "$HOME/.skillbox/agent.stderr" &
agent=$!
trap 'kill -TERM "$agent" 2>/dev/null' TERM INT HUP
tail -c +1 -f -s 0.2 --pid="$agent" "$out" &
follower=$!
rc=
while [ -z "$rc" ]; do
	wait "$agent"
	rc=$?
	# wait returns early (> 128) when a trapped signal arrives.
	kill -0 "$agent" 2>/dev/null && rc=
done
wait "$follower"
if [ "$rc" -ne 0 ]; then
	tail -c 4000 "$HOME/.skillbox/agent.stderr" >&2
fi
exit "$rc"
