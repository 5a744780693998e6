#!/usr/bin/env bash
# Runs vkllm's checks and measurements on a lent GPU machine in one call; results in $OUT/results.tgz.
# That machine has no Vulkan loader and no compiler for shaders, so build here, then carry the
# build folder and the loader/validation-layer .debs in .gl/ (see benchmarks/README.md):
#   run(command="bash benchmarks/device_run.sh", carry=["build", ".gl", ".models"])
# (.models: stories260K.{bin,gguf}, tok512.bin and the expected text, copied from ../shared.)
set -uo pipefail
# Everything lands in $out and leaves as one archive, $OUT/results.tgz (the device tool returns
# only a few files per call), written again after each step: a call cut off at its time limit
# still returns what finished.
final=${OUT:-/tmp/vkllm-device}
out=$(mktemp -d)
mkdir -p "$final"
save() { tar -C "$out" --exclude ./cache -czf "$final/results.tgz" .; }
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
if ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1 &&
   [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
export XDG_CACHE_HOME=$out/cache
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv > "$out/nvidia-smi.csv" 2>&1
# The SM clock, power and load every 0.5 s through the call: timings taken at a lowered clock show.
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,pstate,power.draw,utilization.gpu --format=csv \
  -lms 500 > "$out/clocks.csv" 2>&1 &
clock_log=$!
trap 'kill $clock_log 2> /dev/null' EXIT
vkllm=build/vkllm
$vkllm devices 2>&1 | tee "$out/devices.txt"
status=0
mode=${1:-all}  # all | bench (the GPU's own paths checked, then benchmarks) | compare
if [ "$mode" = compare ]; then
  # Builds side by side (tuning sweeps): build/vkllm ("main") and every .alt/vkllm-NAME
  # (binaries built here with other constants, carried as .alt; COMPARE_BUILDS= leaves them out)
  # bench the same cases, given as filters after `compare`, one JSON report per build
  # (compare-NAME.json). Each build first checks the kernels COMPARE_CHECK names (check filters,
  # space-separated).
  shift
  filters=() checks=() builds=()
  for f in "$@"; do filters+=(--filter "$f"); done
  read -ra names <<< "${COMPARE_CHECK:-}"  # not glob-expanded
  for f in "${names[@]}"; do checks+=(--filter "$f"); done
  for bin in $vkllm ${COMPARE_BUILDS-.alt/vkllm-*}; do [ -x "$bin" ] && builds+=("$bin"); done
  build_name() { if [ "$1" = "$vkllm" ]; then echo main; else echo "${1##*/vkllm-}"; fi; }
  $vkllm bench --peaks --no-pipeline-cache 2>&1 | tee "$out/peaks.txt"
  for bin in "${builds[@]}"; do
    name=$(build_name "$bin")
    if [ ${#checks[@]} -gt 0 ]; then
      $bin check "${checks[@]}" > "$out/check-$name.txt" 2>&1 || status=1
      echo "$name check: $(tail -1 "$out/check-$name.txt")"
    fi
    if [ ${#filters[@]} -gt 0 ]; then
      timeout 120 $bin bench --format json --time-limit ${COMPARE_SECONDS:-30} "${filters[@]}" \
        > "$out/compare-$name.json" 2> "$out/compare-$name.err" || status=1
    fi
    save
  done
  # End to end (COMPARE_MODEL: a mkmodel preset, 4 layers, f16): the builds in turn, twice, for
  # each set of `bench -m` options in COMPARE_MODEL_RUNS (separated by ';'; e.g. with --profile,
  # or a long prompt).
  if [ -n "${COMPARE_MODEL:-}" ]; then
    $vkllm mkmodel -o /tmp/compare.gguf --f16 --preset "$COMPARE_MODEL" --layers 4 > /dev/null || status=1
    IFS=';' read -ra runs <<< "${COMPARE_MODEL_RUNS:--p 512 -n 128 -r 3}"
    for options in "${runs[@]}"; do
      read -ra args <<< "$options"
      for round in 1 2; do
        for bin in "${builds[@]}"; do
          echo "== $(build_name "$bin") round $round: bench -m ${args[*]}" >> "$out/compare-models.txt"
          $bin bench -m /tmp/compare.gguf "${args[@]}" >> "$out/compare-models.txt" 2>&1 || status=1
          save
        done
      done
    done
    grep -E "^==|tg[0-9]|pp[0-9]|^\| attention" "$out/compare-models.txt"
  fi
  exit $status
fi
if [ "$mode" = bench ]; then
  # Texel variants are left out: GPUs read through storage buffers (`vkllm devices`: "large
  # reads via"), and the texel cases alone ran the full suite past its time limit.
  $vkllm check --exclude '*texel*' > "$out/check.txt" 2>&1 || status=1
  tail -1 "$out/check.txt"
  save
  if [ -f .models/stories260K.gguf ]; then
    $vkllm run -m .models/stories260K.gguf -t 0 -n 256 > /tmp/stories.txt 2>/dev/null || status=1
    cmp -s /tmp/stories.txt .models/stories260K.t0.n256.noprompt.txt && echo "stories260K: byte-exact" || { echo "stories260K: DIFFERS"; status=1; }
  fi
  $vkllm bench --peaks --no-pipeline-cache 2>&1 | tee "$out/peaks.txt"
  # The decode GEMVs first (a short run), then end to end, then the whole suite; each bench
  # stops starting cases at its --time-limit and still writes its report (the outer timeout is
  # a backstop for one slow case).
  timeout 200 $vkllm bench --format json --time-limit 90 --filter 'matmul/gemv*' --filter moe --filter ffn_gate_up \
    --filter attn_qkv --exclude '*texel*' > "$out/bench-decode.json" 2> "$out/bench-decode.err" || status=1
  save
  # Prefill GEMM: the default tiles beside the large-tile candidate (gemm_large.*), which the
  # scheduler takes only once a run like this one shows it faster.
  timeout 200 $vkllm bench --format json --time-limit 90 --filter 'matmul/gemm.*' --filter 'matmul/gemm_large.*' \
    > "$out/bench-gemm.json" 2> "$out/bench-gemm.err" || status=1
  save
  # Decode attention: an invocation per key (decode.*) beside a subgroup per key (decode_lanes.*).
  timeout 150 $vkllm bench --format json --time-limit 60 --filter 'attention/decode.*' \
    --filter 'attention/decode_lanes.*' > "$out/bench-attention.json" 2> "$out/bench-attention.err" || status=1
  save
  long=$(printf 'hello world %.0s' $(seq 1 42))
  for preset in llama2-7b mixtral-8x7b; do
    $vkllm mkmodel -o /tmp/$preset.gguf --f16 --preset $preset --layers 4 > /dev/null
    $vkllm bench -m /tmp/$preset.gguf -p 512 -n 128 -r 5 2>&1 | tee -a "$out/bench-models.txt"
    rm -f /tmp/$preset.gguf
    save
  done
  [ -f .models/stories260K.gguf ] && $vkllm bench -m .models/stories260K.gguf -p 128 -n 128 -r 5 2>&1 | tee -a "$out/bench-models.txt"
  $vkllm mkmodel -o /tmp/moe.gguf --dim 256 --hidden 512 --layers 2 --heads 8 --kv-heads 2 --vocab 500 --context 2048 --experts 8 --experts-used 2 --seed 3 > /dev/null
  $vkllm run -m /tmp/moe.gguf -t 0 -n 24 -p "$long" --validate > /dev/null 2> "$out/validate-moe.txt" || status=1
  tail -1 "$out/validate-moe.txt"
  save
  limit=${BENCH_SECONDS:-180}
  timeout $((limit + 60)) $vkllm bench --format json --max-seconds 5 --time-limit $limit --exclude '*texel*' \
    > "$out/bench.json" 2> "$out/bench.err" || status=1
  tail -1 "$out/bench.err"
  save
  exit $status
fi
# Full sweep under the validation layer, then once more without it (timings unperturbed).
VKLLM_VALIDATE=1 $vkllm check > "$out/check-validate.txt" 2>&1 || status=1
tail -3 "$out/check-validate.txt"
$vkllm check --json "$out/check.json" > "$out/check.txt" 2>&1 || status=1
tail -3 "$out/check.txt"
$vkllm check --faults --filter '*fault*' > "$out/check-faults.txt" 2>&1 && { echo "fault variants passed"; status=1; }
tail -1 "$out/check-faults.txt"
save
# Generation, when the model files were carried in .models/ (../shared does not travel).
prompt=$(printf 'Once upon a time, there was a little dog named Max. He liked to %.0s' 1 2 3 4 5 6 7 8 9 10 11 12)
if [ -f .models/stories260K.gguf ]; then
  for m in "-m .models/stories260K.gguf" "-m .models/stories260K.bin -z .models/tok512.bin"; do
    VKLLM_VALIDATE=1 $vkllm run $m -t 0 -n 256 > /tmp/stories.txt 2>> "$out/run.txt" || status=1
    cmp -s /tmp/stories.txt .models/stories260K.t0.n256.noprompt.txt && echo "stories260K ($m): byte-exact" || { echo "stories260K ($m): DIFFERS"; status=1; }
  done
  # --validate: every dispatch of prompt batches and decode against the CPU reference.
  $vkllm run -m .models/stories260K.gguf -t 0 -n 32 -p "$prompt" --validate > /dev/null 2> "$out/validate.txt" || status=1
  tail -1 "$out/validate.txt"
  for i in 1 2 3; do
    $vkllm run -m .models/stories260K.gguf -t 0 -n 256 2>&1 >/dev/null | tee -a "$out/run.txt"
    $vkllm run -m .models/stories260K.gguf -t 0 -n 200 -p "$prompt" 2>&1 >/dev/null | tee -a "$out/run.txt"
  done
  save
fi
# Synthetic models of real layer shapes (f16): prompt of ~500 tokens, then 128 generated.
long=$(printf 'hello world %.0s' $(seq 1 42))
synthetic() {  # name, mkmodel args...
  local name=$1; shift
  $vkllm mkmodel -o /tmp/$name.gguf --f16 "$@" > /dev/null || { status=1; return; }
  echo "== $name $*" | tee -a "$out/run.txt"
  for i in 1 2 3; do
    $vkllm run -m /tmp/$name.gguf -t 0 -n 128 -c 1024 -p "$long" 2>&1 >/dev/null | tee -a "$out/run.txt" || status=1
  done
  rm -f /tmp/$name.gguf
  save
}
synthetic llama2-7b-4l --preset llama2-7b --layers 4
synthetic llama3-8b-4l --preset llama3-8b --layers 4
synthetic mixtral-8x7b-2l --preset mixtral-8x7b --layers 2
# --validate on small synthetic dense (GQA) and MoE models.
$vkllm mkmodel -o /tmp/moe.gguf --dim 256 --hidden 512 --layers 2 --heads 8 --kv-heads 2 --vocab 500 --context 2048 --experts 8 --experts-used 2 --seed 3 > /dev/null
$vkllm run -m /tmp/moe.gguf -t 0 -n 24 -p "$prompt" --validate > /dev/null 2>> "$out/validate.txt" || status=1
tail -1 "$out/validate.txt"
save
exit $status
