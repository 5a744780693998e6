#!/usr/bin/env bash
# The on-disk pipeline cache is written, reused, and ignored with a warning when corrupt.
set -eu
vkllm=$1
export XDG_CACHE_HOME=$(mktemp -d)
trap 'rm -rf "$XDG_CACHE_HOME"' EXIT
case=matmul/gemv.f32/M=1,N=17,K=33
"$vkllm" check --filter "$case" >/dev/null
cache=$(ls "$XDG_CACHE_HOME"/vkllm/pipelines-*.bin)
[ -s "$cache" ] || { echo "no pipeline cache written"; exit 1; }
out=$("$vkllm" check --filter "$case" 2>&1)
if echo "$out" | grep -q "ignoring pipeline cache"; then echo "a valid cache was rejected: $out"; exit 1; fi
for corrupt in flip truncate garbage; do
  case $corrupt in
    flip) printf '\xff' | dd of="$cache" bs=1 seek=40 conv=notrunc status=none ;;
    truncate) head -c 30 "$cache" > "$cache.t" && mv "$cache.t" "$cache" ;;
    garbage) head -c 4096 /dev/urandom > "$cache" ;;
  esac
  out=$("$vkllm" check --filter "$case" 2>&1) || { echo "check failed on a $corrupt cache: $out"; exit 1; }
  echo "$out" | grep -q "warning: ignoring pipeline cache" || { echo "no warning for a $corrupt cache: $out"; exit 1; }
  echo "$out" | grep -q "1 passed, 0 failed" || { echo "case did not pass with a $corrupt cache: $out"; exit 1; }
  echo "$corrupt cache: ignored with a warning"
done
