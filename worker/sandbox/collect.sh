# skillbox: gather what the job produced into one tarball (as the sandbox
# user): the diff against the baseline (new files included), its numstat,
# result.json, and the artifacts matching SKILLBOX_ARTIFACTS (one glob per
# line), each within SKILLBOX_ARTIFACT_MAX bytes and SKILLBOX_COLLECT_MAX
# in all.
# Out: ~/.skillbox/collect.tar.gz.
set -u
shopt -s nullglob globstar dotglob
IFS=$'\n'
out=$HOME/.skillbox/out
rm -rf "$out" "$HOME/.skillbox/collect.tar.gz"
mkdir -p "$out/artifacts"
cd "$HOME/repo" || exit 70
base=$(cat "$HOME/.skillbox/base")
git add -A 2>/dev/null
git diff --cached --binary "$base" > "$out/diff.patch" 2>/dev/null
git diff --cached --numstat -z "$base" > "$out/numstat" 2>/dev/null
git reset -q 2>/dev/null
if [ -f "$HOME/.skillbox/result.json" ] && [ ! -L "$HOME/.skillbox/result.json" ]; then
	head -c 1048577 "$HOME/.skillbox/result.json" > "$out/result.json"
fi
left=${SKILLBOX_COLLECT_MAX:-67108864}
each=${SKILLBOX_ARTIFACT_MAX:-16777216}
: > "$out/artifacts.skipped"
while IFS= read -r glob; do
	[ -n "$glob" ] || continue
	for f in $glob; do
		[ -f "$f" ] && [ ! -L "$f" ] || continue
		case $f in /*|../*|*/../*) continue ;; esac
		size=$(stat -c %s -- "$f")
		if [ "$size" -gt "$each" ] || [ "$size" -gt "$left" ]; then
			printf '%s\t%s\n' "$f" "$size" >> "$out/artifacts.skipped"
			continue
		fi
		mkdir -p "$out/artifacts/$(dirname -- "$f")"
		cp -- "$f" "$out/artifacts/$f"
		left=$((left - size))
	done
done <<< "${SKILLBOX_ARTIFACTS:-}"
tar -czf "$HOME/.skillbox/collect.tar.gz" -C "$out" .
