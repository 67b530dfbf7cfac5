#!/bin/sh
# The test suite: three cases of add.sh.
pass=0 fail=0
for c in "1 2 3" "0 0 0" "5 -2 3"; do
	set -- $c
	got=$(sh ./add.sh "$1" "$2")
	if [ "$got" = "$3" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: add $1 $2: expected $3, got $got"
	fi
done
echo "# PASS: $pass"
echo "# FAIL: $fail"
[ "$fail" -eq 0 ]
