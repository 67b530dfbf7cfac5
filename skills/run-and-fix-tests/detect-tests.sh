#!/bin/sh
# Guess how a repository runs its tests.  Prints one line per build system
# found: "<system><TAB><command><TAB><evidence>", most specific first, then
# the test commands CI runs, if any.  Reads files only; runs nothing.
#
# usage: detect-tests.sh [repo-dir]   (default: ~/repo)
dir=${1:-$HOME/repo}
cd "$dir" 2>/dev/null || { echo "detect-tests: no directory $dir" >&2; exit 1; }

say() { printf '%s\t%s\t%s\n' "$1" "$2" "$3"; }
has() { command -v "$1" >/dev/null 2>&1; }
target() { grep -Eq "^$1:" "$2" 2>/dev/null; }

for mf in GNUmakefile makefile Makefile; do
	[ -f "$mf" ] || continue
	if target check "$mf"; then
		say make "make -j2 check" "$mf: check target"
	elif target test "$mf"; then
		say make "make -j2 test" "$mf: test target"
	fi
	break
done
if [ -f configure.ac ] && [ ! -f Makefile ]; then
	if [ -x configure ]; then
		say autotools "./configure && make -j2 check" configure.ac
	else
		say autotools "autoreconf -fi && ./configure && make -j2 check" \
		    configure.ac
	fi
fi
[ -f CMakeLists.txt ] && say cmake "cmake -S . -B build && cmake --build build -j2 && ctest --test-dir build --output-on-failure" CMakeLists.txt
[ -f meson.build ] && say meson "meson setup build && meson test -C build" meson.build

if [ -f package.json ]; then
	if [ -f pnpm-lock.yaml ]; then pm=pnpm; inst="pnpm install --frozen-lockfile"
	elif [ -f yarn.lock ]; then pm=yarn; inst="yarn install --frozen-lockfile"
	elif [ -f bun.lockb ] || [ -f bun.lock ]; then pm=bun; inst="bun install"
	elif [ -f package-lock.json ]; then pm=npm; inst="npm ci"
	else pm=npm; inst="npm install"
	fi
	if grep -Eq '"test"[[:space:]]*:' package.json; then
		say "$pm" "$inst && $pm test" "package.json: test script"
	else
		say "$pm" "$inst" "package.json (no test script)"
	fi
fi

if [ -f tox.ini ]; then
	say tox "tox" tox.ini
fi
for f in pytest.ini pyproject.toml setup.cfg setup.py conftest.py; do
	[ -f "$f" ] || continue
	say python "python3 -m pytest -q" "$f"
	break
done
[ -f Cargo.toml ] && say cargo "cargo test" Cargo.toml
[ -f go.mod ] && say go "go test ./..." go.mod
if [ -f pom.xml ]; then
	if [ -x mvnw ]; then say maven "./mvnw -q test" pom.xml
	else say maven "mvn -q test" pom.xml; fi
fi
for g in build.gradle build.gradle.kts; do
	[ -f "$g" ] || continue
	if [ -x gradlew ]; then say gradle "./gradlew test" "$g"
	else say gradle "gradle test" "$g"; fi
	break
done
[ -f Gemfile ] && say ruby "bundle exec rake test" Gemfile
[ -f mix.exs ] && say elixir "mix test" mix.exs
[ -f composer.json ] && say php "vendor/bin/phpunit" composer.json

# What CI runs is the best evidence of all.
for ci in .github/workflows/*.yml .github/workflows/*.yaml .gitlab-ci.yml \
    .circleci/config.yml .travis.yml; do
	[ -f "$ci" ] || continue
	grep -Eo '(run:|script:|-)[[:space:]]+.*(test|check|pytest|ctest|spec).*' \
	    "$ci" 2>/dev/null | head -5 | while IFS= read -r line; do
		say ci "$(echo "$line" | sed -E 's/^(run:|script:|-)[[:space:]]+//')" "$ci"
	done
done

# Which of the usual tools this machine has.
avail=
for t in make cmake meson ninja npm pnpm yarn python3 pytest tox cargo go \
    mvn gradle java; do
	has "$t" && avail="$avail $t"
done
echo "tools:$avail"
