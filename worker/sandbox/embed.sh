#!/bin/sh
# Turn each sandbox script into a C string, so that the worker carries its
# own copies: nothing the agent can reach in the sandbox is ever run as a
# skillbox step.  usage: embed.sh FILE... > sandbox-scripts.c
echo '/* Generated from the scripts in worker/sandbox by embed.sh: do not edit. */'
echo '#include "sandbox.h"'
for f in "$@"; do
	name=$(basename "$f" .sh)
	echo
	echo "const char sandbox_${name}_sh[] ="
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/    "/' -e 's/$/\\n"/' "$f"
	echo '    ;'
done
