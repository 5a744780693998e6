#!/usr/bin/env bash
# Quantized models from `vkllm mkmodel --type`, in every format and mix:
# - the GPU path gives the CPU reference path's greedy text (both read the same quantized
#   weights; the CPU path dequantizes them as ggml does);
# - `run --validate` passes, dispatch by dispatch (prompt batch and decode), on both read paths
#   (texel buffers, CPU devices' default; storage buffers, GPUs'), with the quantized variants
#   of every weight-reading kernel named in its table;
# - dense with GQA, and MoE (8 experts, top-2), whose Q4_K_M mix puts some layers' ffn_down
#   experts in Q6_K beside Q4_K gate and up.
# Widths of 256 keep every matrix in whole K-quant blocks.
set -u
vkllm=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
passed=0

same_text() {  # MODEL PROMPT N
  gpu=$("$vkllm" run -m "$1" -t 0 --ignore-eos -n "$3" -p "$2" 2>"$dir/gpu.err") || { cat "$dir/gpu.err"; fail "GPU run of $1"; }
  cpu=$("$vkllm" run -m "$1" -t 0 --ignore-eos -n "$3" -p "$2" --cpu 2>"$dir/cpu.err") || { cat "$dir/cpu.err"; fail "CPU run of $1"; }
  [ -n "$gpu" ] && [ "$gpu" = "$cpu" ] || fail "$1: GPU and CPU texts differ: '$gpu' vs '$cpu'"
}

validate() {  # MODEL PROMPT N KERNEL...: every dispatch within its bound, the kernels among them
  local model=$1 prompt=$2 n=$3; shift 3
  "$vkllm" run -m "$model" -t 0 -n "$n" -p "$prompt" --validate >/dev/null 2>"$dir/val.err" ||
    { cat "$dir/val.err"; fail "--validate on $model (${VKLLM_READ_PATH:-default})"; }
  grep -q "every dispatch within its bound" "$dir/val.err" || { cat "$dir/val.err"; fail "--validate verdict missing"; }
  for kernel in "$@"; do
    grep -q " $kernel " "$dir/val.err" || { cat "$dir/val.err"; fail "$model: --validate did not check $kernel"; }
  done
}

dense="--dim 256 --hidden 512 --layers 2 --heads 4 --kv-heads 2 --vocab 300 --context 128 --seed 11"
for type in q8_0 q4_0 q4_1 q5_0 q5_1 q2_k q3_k q4_k q5_k q6_k; do
  model="$dir/dense-$type.gguf"
  # shellcheck disable=SC2086
  "$vkllm" mkmodel -o "$model" $dense --type "$type" >/dev/null || fail "mkmodel --type $type"
  same_text "$model" "hello world" 12
  VKLLM_READ_PATH=texel validate "$model" "hello world" 3 "matmul/gemm_texel.$type" "attn_qkv/texel.$type" \
    "ffn_gate_up/texel.$type" "matmul/gemv_texel_add.$type" "embedding/texel.$type" "matmul/gemv_texel.$type"
  VKLLM_READ_PATH=storage validate "$model" "hello world" 3 "matmul/gemm_rows.$type" "attn_qkv/rows.$type" \
    "ffn_gate_up/rows.$type" "matmul/gemv_rows_add.$type" "embedding/$type" "matmul/gemv_rows.$type"
  echo "dense GQA model in $type: GPU and CPU texts identical; --validate passes on both read paths"
  passed=$((passed + 1))
done

for mix in q4_k_s q4_k_m q5_k_m; do
  model="$dir/dense-$mix.gguf"
  # shellcheck disable=SC2086
  "$vkllm" mkmodel -o "$model" $dense --type "$mix" >"$dir/mix.out" || fail "mkmodel --type $mix"
  same_text "$model" "hello world" 12
  for read_path in texel storage; do VKLLM_READ_PATH=$read_path validate "$model" "hello world" 3; done
  echo "dense GQA model in $mix: GPU and CPU texts identical; --validate passes on both read paths"
  passed=$((passed + 1))
done

moe="--dim 256 --hidden 256 --layers 2 --heads 4 --kv-heads 2 --vocab 300 --context 128 --experts 8 --experts-used 2 --seed 12"
# shellcheck disable=SC2086
"$vkllm" mkmodel -o "$dir/moe32.gguf" $moe >/dev/null || fail "mkmodel MoE"
"$vkllm" quantize -i "$dir/moe32.gguf" -o "$dir/moe.gguf" --type q4_k_m >"$dir/quantize.out" || fail "quantize MoE q4_k_m"
grep -Eq "blk.1.ffn_down_exps.weight .* f32->q6_k" "$dir/quantize.out" &&
  grep -Eq "blk.1.ffn_gate_exps.weight .* f32->q4_k" "$dir/quantize.out" ||
  { cat "$dir/quantize.out"; fail "the q4_k_m MoE model has no layer with Q6_K down experts beside Q4_K gate and up"; }
same_text "$dir/moe.gguf" "the quick brown fox" 12
for case in texel:texel_q4_k storage:q4_k; do
  VKLLM_READ_PATH=${case%%:*} validate "$dir/moe.gguf" "the quick brown fox" 3 "moe/${case#*:}"
done
echo "MoE model in q4_k_m (Q6_K down experts in some layers): GPU and CPU texts identical; --validate passes on both read paths"
passed=$((passed + 1))
echo "$passed passed, 0 failed"
