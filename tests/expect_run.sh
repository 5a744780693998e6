#!/usr/bin/env bash
# Runs a command and checks its exit status and output.
#   expect_run.sh STATUS [PATTERN...] -- COMMAND [ARGS...]
# STATUS is the exit status required; every PATTERN (extended regex) must match the
# combined stdout and stderr. A PATTERN starting with '!' must not match.
set -u
want=$1; shift
patterns=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do patterns+=("$1"); shift; done
shift
out=$("$@" 2>&1); got=$?
printf '%s\n' "$out"
fail=0
if [ "$got" -ne "$want" ]; then echo "expect_run: exit status $got, wanted $want"; fail=1; fi
for p in "${patterns[@]}"; do
  if [ "${p:0:1}" = "!" ]; then
    if printf '%s\n' "$out" | grep -Eq -- "${p:1}"; then echo "expect_run: output must not match: ${p:1}"; fail=1; fi
  elif ! printf '%s\n' "$out" | grep -Eq -- "$p"; then
    echo "expect_run: output does not match: $p"; fail=1
  fi
done
exit $fail
