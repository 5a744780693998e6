#!/usr/bin/env bash
# vkllm beside llama.cpp's CPU backend on the same GGUF files, in one run on one machine:
# for each model, llama-bench and `vkllm bench -m` take turns, ROUNDS times, with the same
# prompt and decode lengths, and the table lists both tokens/s side by side (each cell: the
# tool's mean over its -r repetitions, one cell per round, so the spread between rounds shows).
#
#   benchmarks/vs_llamacpp.sh LLAMA_BENCH MODEL.gguf...
#
# LLAMA_BENCH is a llama-bench built beside the project (never committed), e.g.
#   git clone https://github.com/ggml-org/llama.cpp /tmp/llama.cpp
#   cmake -S /tmp/llama.cpp -B /tmp/llama.cpp/build -DGGML_NATIVE=ON -DLLAMA_CURL=OFF
#   cmake --build /tmp/llama.cpp/build --target llama-bench -j
# Models: any llama-architecture GGUF both read, e.g. `vkllm mkmodel --preset tinyllama
# --layers 4 --type q4_0`. Environment: VKLLM (default build/vkllm), PROMPT (default 16), GEN
# (64), REPS (3), ROUNDS (2), THREADS for llama.cpp (default: every core, as lavapipe uses).
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,16p "$0" >&2; exit 2; }
llama_bench=$1; shift
vkllm=${VKLLM:-build/vkllm}
prompt=${PROMPT:-16} gen=${GEN:-64} reps=${REPS:-3} rounds=${ROUNDS:-2} threads=${THREADS:-$(nproc)}

echo "# vkllm vs llama.cpp CPU, $(date -u +%F), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
"$vkllm" devices 2>/dev/null | grep -E "^device 0|driver " | head -2 | sed 's/^/# /'
echo "# llama.cpp: ${LLAMA_CPP_VERSION:-$("$llama_bench" --help 2>&1 | grep -m1 -o "build: .*" || echo "version not given (LLAMA_CPP_VERSION)")}, $threads threads"
echo "# pp$prompt and tg$gen, tokens/s (mean of $reps repetitions a cell), $rounds rounds taking turns"
echo
echo "| model | size MiB | test | llama.cpp CPU | vkllm | vkllm / llama.cpp |"
echo "| --- | ---: | --- | ---: | ---: | ---: |"
for model in "$@"; do
  size=$(( $(stat -c %s "$model") / 1048576 ))
  for round in $(seq "$rounds"); do
    # llama-bench's markdown rows: "| model | size | params | backend | threads | test | t/s |"
    ll=$("$llama_bench" -m "$model" -p "$prompt" -n "$gen" -r "$reps" -t "$threads" 2>/dev/null |
         awk -F'|' '/ (pp|tg)[0-9]+ /{gsub(/ /,"",$7); split($8,a," "); print $7, a[1]}')
    vk=$("$vkllm" bench -m "$model" -p "$prompt" -n "$gen" -r "$reps" 2>/dev/null |
         awk -F'|' '/\| (pp|tg)[0-9]+ /{gsub(/ /,"",$3); gsub(/ /,"",$4); print $3, $4}')
    for test in "pp$prompt" "tg$gen"; do
      a=$(echo "$ll" | awk -v t="$test" '$1 == t {print $2}')
      b=$(echo "$vk" | awk -v t="$test" '$1 == t {print $2}')
      ratio=$(awk -v a="${a:-0}" -v b="${b:-0}" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }')
      echo "| $(basename "$model") | $size | $test | ${a:--} | ${b:--} | $ratio |"
    done
  done
done
