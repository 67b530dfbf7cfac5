#!/bin/sh
# Print the sum of two integers.
echo $(($1 - $2))
