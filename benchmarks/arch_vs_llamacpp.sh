#!/usr/bin/env bash
# Each architecture's forward pass against llama.cpp's own, on the same files: `vkllm mkmodel
# --arch NAME` writes a small seeded model per architecture (and per weight type), then
# llama.cpp's llama-simple (greedy) and `vkllm run -t 0` (the GPU path and the CPU reference)
# continue the same prompt, and the table says whether the three texts agree. llama.cpp prints
# BOS as "<s>" and writes a character's bytes as they come; both are evened out before comparing.
# DeepSeek-V2 goes in the layout llama.cpp read before its MLA support (`--mla-kv-b`, which vkllm
# also reads), with the deepseek-v2 preset's low-rank query and YaRN: that llama.cpp tells
# V2-Lite's direct query by its 27 layers alone.
#
#   benchmarks/arch_vs_llamacpp.sh LLAMA_SIMPLE [ARCH...]
#
# LLAMA_SIMPLE is llama.cpp's examples/simple built beside the project (never committed), e.g.
#   cmake --build /tmp/llama.cpp/build --target llama-simple -j
# Environment: VKLLM (default build/vkllm), N (tokens, default 24), TYPES (default "f32 q8_0 q4_k_m").
set -euo pipefail
[ $# -ge 1 ] || { sed -n 2,16p "$0" >&2; exit 2; }
simple=$1; shift
archs=${*:-llama gpt2 qwen2 qwen3 phi3 deepseek2}
vkllm=${VKLLM:-build/vkllm} n=${N:-24} types=${TYPES:-f32 q8_0 q4_k_m}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prompt="Once upon a time, in a small town"

echo "# vkllm vs llama.cpp, greedy text of mkmodel models, $(date -u +%F)"
"$vkllm" devices 2>/dev/null | grep -E "^device 0|driver " | head -2 | sed 's/^/# /'
echo "# llama.cpp: ${LLAMA_CPP_VERSION:-version not given (LLAMA_CPP_VERSION)}; $n tokens after \"$prompt\""
echo
echo "| architecture | type | llama.cpp = vkllm GPU | vkllm GPU = vkllm CPU | llama.cpp's text (first 48 bytes) |"
echo "| --- | --- | --- | --- | --- |"
for arch in $archs; do
  for type in $types; do
    model="$work/$arch-$type.gguf"
    shape=(--arch "$arch")
    [ "$arch" = deepseek2 ] && shape=(--preset deepseek-v2 --mla-kv-b --experts 8 --experts-used 3)
    "$vkllm" mkmodel -o "$model" "${shape[@]}" --dim 256 --hidden 512 --layers 2 --heads 4 --kv-heads 2 \
      --vocab 300 --context 128 --seed 7 --type "$type" >/dev/null
    ll=$("$simple" -m "$model" -n "$n" "$prompt" 2>/dev/null | sed 's/^<s> //' | iconv -f utf-8 -t utf-8 -c || true)
    if [ -z "$ll" ]; then
      echo "| $arch | $type | llama.cpp does not run it | | |"
      continue
    fi
    gpu=$("$vkllm" run -m "$model" -t 0 --ignore-eos -n "$n" -p "$prompt" 2>/dev/null | iconv -f utf-8 -t utf-8 -c)
    cpu=$("$vkllm" run -m "$model" -t 0 --ignore-eos -n "$n" -p "$prompt" --cpu 2>/dev/null | iconv -f utf-8 -t utf-8 -c)
    same() { [ "$1" == "$2" ] && echo yes || echo "**no**"; }
    echo "| $arch | $type | $(same "$ll" "$gpu") | $(same "$gpu" "$cpu") | \`$(printf %s "$ll" | head -c 48 | tr '\n|`' '  _')\` |"
  done
done
