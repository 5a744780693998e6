#!/usr/bin/env bash
# Runs a command twice; its stdout must be non-empty and identical (seeded sampling).
set -u
a=$("$@" 2>/dev/null) || { echo "first run failed"; exit 1; }
b=$("$@" 2>/dev/null) || { echo "second run failed"; exit 1; }
[ -n "$a" ] || { echo "no output"; exit 1; }
[ "$a" = "$b" ] || { printf 'outputs differ:\n%s\n---\n%s\n' "$a" "$b"; exit 1; }
printf '%s\n' "$a"
echo "same seed, same text"
