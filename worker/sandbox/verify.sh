# skillbox: run the test command the agent reported once more, from the
# repository, so the job's result does not rest on the agent's word alone.
# The command runs as the sandbox user, in a login shell as E2B runs
# commands, with the job's own environment and no credentials.  Its
# output, stdout and stderr together, goes to the caller.
# In: SKILLBOX_TEST_COMMAND.
set -u
cd "$HOME/repo" || exit 70
exec 2>&1 </dev/null
exec /bin/bash -l -c "$SKILLBOX_TEST_COMMAND"
