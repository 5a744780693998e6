#!/usr/bin/env bash
# A short, bounded fuzz run: seeds from seeds.py, then FUZZ_SECONDS (default 20) of libFuzzer.
# Fails on any crash, sanitizer report or leak.
set -eu
fuzzer=$1 target=$2 vkllm=$3 seeds=$4
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
python3 "$seeds" "$target" "$vkllm" "$corpus"
# -close_fd_mask=2: the parsers report every malformed input on stderr, as they should.
"$fuzzer" -max_total_time="${FUZZ_SECONDS:-20}" -close_fd_mask=2 -rss_limit_mb=2048 -timeout=10 "$corpus"
echo "fuzz_$target: no crash in ${FUZZ_SECONDS:-20} s"
