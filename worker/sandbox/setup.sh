# skillbox: lay the job out in the sandbox (runs once, as the sandbox user).
# In:  ~/.skillbox/bundle.tar.gz (skills, job files, maybe repo/);
#      SKILLBOX_REPO_URL, SKILLBOX_REPO_REF, SKILLBOX_GIT_TOKEN (optional).
# Out: ~/.claude/skills, ~/.skillbox/{job.json,prompt.txt}, ~/repo, and
#      ~/.skillbox/base: the tree the job's diff is taken against.
set -eu
umask 022
cd "$HOME"
tar -xzf .skillbox/bundle.tar.gz -C "$HOME"
rm -f .skillbox/bundle.tar.gz
export GIT_TERMINAL_PROMPT=0 GIT_ASKPASS=/bin/false
id="-c user.name=skillbox -c user.email=skillbox@localhost"
if [ -n "${SKILLBOX_REPO_URL:-}" ]; then
	# The token stays in this process's environment: the helper reads
	# it from there, so it is never in argv, .git/config or a log.
	helper='!f() { test "$1" = get || exit 0; echo username=x-access-token; echo "password=$SKILLBOX_GIT_TOKEN"; }; f'
	[ -n "${SKILLBOX_GIT_TOKEN:-}" ] || helper=
	ref=${SKILLBOX_REPO_REF:-}
	if [ -n "$ref" ] && git -c credential.helper="$helper" clone -q \
	    --depth 1 --branch "$ref" -- "$SKILLBOX_REPO_URL" repo 2>/dev/null
	then
		:
	else
		rm -rf repo
		git -c credential.helper="$helper" clone -q -- \
		    "$SKILLBOX_REPO_URL" repo
		[ -z "$ref" ] || git -C repo checkout -q "$ref" --
	fi
	unset SKILLBOX_GIT_TOKEN
fi
[ -d repo ] || mkdir repo
cd repo
[ -d .git ] || git init -q
if ! git rev-parse --verify -q HEAD >/dev/null; then
	git add -A
	# shellcheck disable=SC2086
	git $id commit -q --allow-empty -m "skillbox: baseline"
fi
# The baseline is the tree as the agent finds it, uncommitted work
# included, taken without touching the repository's history.
git add -A
git write-tree > "$HOME/.skillbox/base"
git reset -q
echo "repo ready: $(git rev-parse --short HEAD) $(git ls-files | wc -l) files"
