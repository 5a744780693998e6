#!/usr/bin/env bash
# Runs vkllm's checks on a lent GPU machine in one call and leaves the results in $OUT.
# That machine has no Vulkan loader and no compiler for shaders, so build here, then carry the
# build folder and the loader/validation-layer .debs in .gl/ (see benchmarks/README.md):
#   run(command="bash benchmarks/device_run.sh", carry=["build", ".gl", ".models"])
# (.models: stories260K.{bin,gguf}, tok512.bin and the expected text, copied from ../shared.)
set -uo pipefail
out=${OUT:-/tmp/vkllm-device}
mkdir -p "$out"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
if ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1 &&
   [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
export XDG_CACHE_HOME=$out/cache
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv > "$out/nvidia-smi.csv" 2>&1
vkllm=build/vkllm
$vkllm devices 2>&1 | tee "$out/devices.txt"
status=0
# Full sweep under the validation layer, then once more without it (timings unperturbed).
VKLLM_VALIDATE=1 $vkllm check --json "$out/check-validate.json" > "$out/check-validate.txt" 2>&1 || status=1
tail -3 "$out/check-validate.txt"
$vkllm check --json "$out/check.json" > "$out/check.txt" 2>&1 || status=1
tail -3 "$out/check.txt"
$vkllm check --faults --filter '*fault*' > "$out/check-faults.txt" 2>&1 && { echo "fault variants passed"; status=1; }
tail -1 "$out/check-faults.txt"
# Generation, when the model files were carried in .models/ (../shared does not travel).
if [ -f .models/stories260K.gguf ]; then
  for m in "-m .models/stories260K.gguf" "-m .models/stories260K.bin -z .models/tok512.bin"; do
    VKLLM_VALIDATE=1 $vkllm run $m -t 0 -n 256 > "$out/stories.txt" 2>> "$out/run.txt" || status=1
    cmp -s "$out/stories.txt" .models/stories260K.t0.n256.noprompt.txt && echo "stories260K ($m): byte-exact" || { echo "stories260K ($m): DIFFERS"; status=1; }
  done
  $vkllm run -m .models/stories260K.gguf -t 0 -n 256 2>&1 >/dev/null | tee -a "$out/run.txt"
fi
rm -rf "$out/cache"
exit $status
