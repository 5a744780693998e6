#!/usr/bin/env bash
# Models from `vkllm mkmodel`:
# - a dense GQA model and an MoE model (8 experts, top-2) generate the same text on the GPU and
#   on the CPU reference path, and the MoE one reports the same expert load on both;
# - `run --validate` passes on both, dispatch by dispatch, prompt batch and decode, on both read
#   paths (storage buffers, texel buffers);
# - f16 weights (dense and MoE) run on the GPU, and give the CPU reference path's text;
# - a KV cache that does not fit is a clear error, or capped when -c is not given.
set -u
vkllm=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
passed=0

# same_text MODEL PROMPT N: GPU and CPU greedy texts are equal; keeps their stderr in $dir.
same_text() {
  gpu=$("$vkllm" run -m "$1" -t 0 --ignore-eos -n "$3" -p "$2" 2>"$dir/gpu.err") || { cat "$dir/gpu.err"; fail "GPU run of $1"; }
  cpu=$("$vkllm" run -m "$1" -t 0 --ignore-eos -n "$3" -p "$2" --cpu 2>"$dir/cpu.err") || { cat "$dir/cpu.err"; fail "CPU run of $1"; }
  [ -n "$gpu" ] && [ "$gpu" = "$cpu" ] || fail "$1: GPU and CPU texts differ: '$gpu' vs '$cpu'"
}

# validate MODEL PROMPT N: every dispatch within its bound.
validate() {
  "$vkllm" run -m "$1" -t 0 --ignore-eos -n "$3" -p "$2" --validate >/dev/null 2>"$dir/val.err" || { cat "$dir/val.err"; fail "--validate on $1"; }
  grep -q "every dispatch within its bound" "$dir/val.err" || { cat "$dir/val.err"; fail "--validate verdict missing"; }
}

"$vkllm" mkmodel -o "$dir/dense.gguf" --dim 96 --hidden 200 --layers 3 --heads 6 --kv-heads 2 --vocab 300 \
  --context 256 --seed 5 || fail "mkmodel dense"
same_text "$dir/dense.gguf" "hello world" 60
echo "dense GQA model: GPU and CPU texts identical"; passed=$((passed + 1))
validate "$dir/dense.gguf" "hello world" 8
echo "dense GQA model: --validate passes ($(grep -o '[0-9]* dispatches' "$dir/val.err"))"; passed=$((passed + 1))
# Both read paths end to end (CPU devices read through texels by default, GPUs through storage
# buffers): the same text as the CPU reference, and --validate, on either.
for read_path in storage texel; do
  VKLLM_READ_PATH=$read_path same_text "$dir/dense.gguf" "hello world" 40
  VKLLM_READ_PATH=$read_path validate "$dir/dense.gguf" "hello world" 6
done
echo "dense GQA model: storage-buffer and texel read paths both match the CPU and pass --validate"; passed=$((passed + 1))

"$vkllm" mkmodel -o "$dir/moe.gguf" --dim 64 --hidden 96 --layers 2 --heads 4 --kv-heads 2 --vocab 300 \
  --context 256 --experts 8 --experts-used 2 --seed 7 || fail "mkmodel moe"
same_text "$dir/moe.gguf" "the quick brown fox" 30
grep "layer " "$dir/gpu.err" >"$dir/gpu.load"; grep "layer " "$dir/cpu.err" >"$dir/cpu.load"
[ "$(wc -l <"$dir/gpu.load")" = 2 ] || { cat "$dir/gpu.err"; fail "MoE: no per-layer expert load"; }
cmp -s "$dir/gpu.load" "$dir/cpu.load" || { diff "$dir/gpu.load" "$dir/cpu.load"; fail "MoE: GPU and CPU expert loads differ"; }
echo "MoE model (8 experts, top-2, GQA): GPU and CPU texts and expert loads identical"; passed=$((passed + 1))
# The moe block has a variant per read path: over storage buffers, grouped GEMMs for batches
# and row-block GEMVs for one token; or texel grouped GEMVs, gate, up and swiglu fused in both.
for case in storage:f32 texel:texel_f32; do
  VKLLM_READ_PATH=${case%%:*} validate "$dir/moe.gguf" "the quick brown fox" 8
  grep -q "ffn_moe moe/${case#*:}" "$dir/val.err" || fail "MoE: --validate did not check moe/${case#*:}"
done
VKLLM_READ_PATH=texel same_text "$dir/moe.gguf" "the quick brown fox" 30
echo "MoE model: --validate passes on both read paths ($(grep -o '[0-9]* dispatches' "$dir/val.err"))"; passed=$((passed + 1))

"$vkllm" mkmodel -o "$dir/f16.gguf" --dim 128 --hidden 256 --layers 2 --heads 4 --kv-heads 4 --vocab 400 \
  --context 128 --f16 --seed 6 || fail "mkmodel f16"
validate "$dir/f16.gguf" "abc" 12
# GPUs decode f16 weights through the row blocks, fused as on CPU devices.
VKLLM_READ_PATH=storage validate "$dir/f16.gguf" "abc" 12
for kernel in matmul/gemv_rows.f16 matmul/gemv_rows_add.f16 ffn_gate_up/rows.f16 attn_qkv/rows.f16; do
  grep -q " $kernel " "$dir/val.err" || fail "f16 on the storage path: --validate did not check $kernel"
done
same_text "$dir/f16.gguf" "abc" 24
"$vkllm" mkmodel -o "$dir/moe16.gguf" --dim 64 --hidden 128 --layers 2 --heads 4 --kv-heads 1 --vocab 300 \
  --context 128 --experts 4 --experts-used 2 --f16 --seed 8 || fail "mkmodel moe f16"
for case in storage:f16 texel:texel_f16; do
  VKLLM_READ_PATH=${case%%:*} validate "$dir/moe16.gguf" "xyz" 6
  grep -q "ffn_moe moe/${case#*:}" "$dir/val.err" || fail "f16 MoE: moe/${case#*:} did not run"
done
echo "f16 dense and MoE models: --validate passes on the GPU, the same text as the CPU path"; passed=$((passed + 1))

# GPUs' own choices, on the storage read path: a prompt of 257..384 tokens in one batch (GPUs take up
# to 512 rows, CPU devices 128) through the tiled prefill attention, and heads of 64, decoded by a
# subgroup per key (decode_lanes).
"$vkllm" mkmodel -o "$dir/wide.gguf" --dim 128 --hidden 200 --layers 2 --heads 2 --kv-heads 1 --vocab 300 \
  --context 512 --seed 9 || fail "mkmodel wide"
long=$(printf 'hello world %.0s' $(seq 1 25))
tokens=$("$vkllm" tokenize -z "$dir/wide.gguf" --add-special -p "$long" | wc -w)
[ "$tokens" -gt 256 ] && [ "$tokens" -le 384 ] || fail "the long prompt is $tokens tokens, not 257..384"
VKLLM_READ_PATH=storage validate "$dir/wide.gguf" "$long" 4
grep -q "prompt $tokens tokens" "$dir/val.err" || { cat "$dir/val.err"; fail "the long prompt is not $tokens tokens"; }
grep -Eq "^  0 +attn_q.weight matmul/gemm.f32 +1 " "$dir/val.err" || { cat "$dir/val.err"; fail "storage path: the prompt took more than one batch"; }
grep -q " attention/decode_lanes.f32 " "$dir/val.err" || { cat "$dir/val.err"; fail "storage path: decode_lanes.f32 not checked"; }
grep -Eq "^  0 +attention attention/prefill_tiled.f32 +1 " "$dir/val.err" || { cat "$dir/val.err"; fail "storage path: prefill_tiled.f32 not checked"; }
VKLLM_READ_PATH=texel validate "$dir/wide.gguf" "$long" 4
grep -Eq "^  0 +attention attention/prefill_texel.f32 +3 " "$dir/val.err" || { cat "$dir/val.err"; fail "texel path: not 3 batches of 128"; }
echo "GPU path: a $tokens-token prompt in one batch, prefill_tiled and decode_lanes pass --validate; CPU devices batch by 128"
passed=$((passed + 1))

# --validate must be able to fail: a matmul that drops a term, swapped in by the test hook, on
# both read paths: the storage-buffer GEMV (its first use: attn_q), and the texel GEMV that CPU
# devices run by default (there Q/K/V are one attn_qkv dispatch, so its first use is the head).
for case in storage:gemv.f32:"layer 0, attn_q.weight" texel:gemv_texel.f32:"output.weight"; do
  read_path=${case%%:*} rest=${case#*:}; variant=${rest%%:*} first=${rest#*:}
  out=$(VKLLM_READ_PATH=$read_path VKLLM_INJECT_FAULT=matmul/$variant:fault_drop_term \
    "$vkllm" run -m "$dir/dense.gguf" -t 0 -n 3 --validate 2>&1 >/dev/null)
  code=$?
  [ $code = 1 ] || { echo "$out"; fail "--validate with a broken matmul ($read_path) exited $code, not 1"; }
  echo "$out" | grep -q "the first: position 0, .*$first matmul/fault_drop_term" ||
    { echo "$out"; fail "--validate did not name the first failing dispatch ($read_path: $first)"; }
done
echo "--validate names the first failing dispatch of a broken kernel, on both read paths"; passed=$((passed + 1))

# Memory: a KV cache larger than the device is a clear error with -c; without -c the context is
# capped to what fits (lavapipe: a 2 GiB heap and 128 MiB per binding).
"$vkllm" mkmodel -o "$dir/long.gguf" --dim 256 --hidden 256 --layers 2 --heads 4 --vocab 300 --context 1048576 \
  --seed 9 || fail "mkmodel long"
out=$("$vkllm" run -m "$dir/long.gguf" -c 1048576 -n 2 2>&1) && fail "a 4 GiB KV cache was accepted"
echo "$out" | grep -q "does not fit on .*KV cache 4096.0 MiB (1048576 positions)" || { echo "$out"; fail "unclear out-of-memory error"; }
out=$("$vkllm" run -m "$dir/long.gguf" -n 2 -t 0 2>&1) || { echo "$out"; fail "no cap to what fits"; }
echo "$out" | grep -q "context capped to" || { echo "$out"; fail "the cap is not reported"; }
echo "a model that does not fit: clear error with -c, capped context without"; passed=$((passed + 1))

"$vkllm" mkmodel -o "$dir/bad.gguf" --heads 7 2>&1 | grep -q "inconsistent shape" || fail "bad shape accepted"
passed=$((passed + 1))
echo "$passed passed, 0 failed"
