#!/usr/bin/env bash
# Models from `vkllm mkmodel`: a dense GQA model generates the same text on the GPU and on the
# CPU reference path; f16 weights run on the GPU; an MoE model loads and is refused clearly.
set -u
vkllm=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$vkllm" mkmodel -o "$dir/dense.gguf" --dim 96 --hidden 200 --layers 3 --heads 6 --kv-heads 2 --vocab 300 \
  --context 256 --seed 5 || fail "mkmodel dense"
gpu=$("$vkllm" run -m "$dir/dense.gguf" -t 0 -n 60 -p "hello world" 2>"$dir/err") || { cat "$dir/err"; fail "GPU run"; }
cpu=$("$vkllm" run -m "$dir/dense.gguf" -t 0 -n 60 -p "hello world" --cpu 2>/dev/null) || fail "CPU run"
[ -n "$gpu" ] && [ "$gpu" = "$cpu" ] || fail "GPU and CPU texts differ: '$gpu' vs '$cpu'"
echo "dense GQA model: GPU and CPU texts identical"

"$vkllm" mkmodel -o "$dir/f16.gguf" --dim 128 --hidden 256 --layers 2 --heads 4 --kv-heads 4 --vocab 400 \
  --context 128 --f16 --seed 6 || fail "mkmodel f16"
out=$("$vkllm" run -m "$dir/f16.gguf" -t 0 -n 20 -p "abc" 2>"$dir/err") || { cat "$dir/err"; fail "f16 GPU run"; }
case $out in abc*) echo "f16 model: runs on the GPU" ;; *) fail "f16 output does not start with the prompt: $out" ;; esac
"$vkllm" run -m "$dir/f16.gguf" -n 4 --cpu 2>&1 | grep -q "must be f32" || fail "f16 on the CPU path: no clear error"

"$vkllm" mkmodel -o "$dir/moe.gguf" --dim 64 --hidden 96 --layers 2 --heads 4 --kv-heads 2 --vocab 300 \
  --experts 4 --experts-used 2 --seed 7 || fail "mkmodel moe"
msg=$("$vkllm" run -m "$dir/moe.gguf" -n 4 2>&1) && fail "MoE run should be refused for now"
echo "$msg" | grep -q "MoE models are not scheduled on the GPU yet (4 experts)" || fail "unclear MoE message: $msg"
echo "MoE model: loads, refused clearly"

"$vkllm" mkmodel -o "$dir/bad.gguf" --heads 7 2>&1 | grep -q "inconsistent shape" || fail "bad shape accepted"
echo "4 passed, 0 failed"
