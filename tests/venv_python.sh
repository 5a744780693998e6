#!/usr/bin/env sh
# Runs a test script with the Python of .venv (test-only packages from ./setup.sh test), or the
# system python3 when there is none; such scripts exit 77 (skip) without their packages.
venv="$(dirname "$0")/../.venv/bin/python3"
if [ -x "$venv" ]; then exec "$venv" "$@"; fi
exec python3 "$@"
