#!/usr/bin/env bash
# vkllm set-up in one command, on Debian (12 or later):
#   ./setup.sh         install missing packages, build build/vkllm, then run the main job:
#                      `vkllm devices` and `vkllm check` on the default device
#                      (lavapipe, the CPU Vulkan device, when there is no GPU)
#   ./setup.sh test    the same set-up, then the whole test suite through ctest, in a release
#                      build (build/) and an AddressSanitizer + UBSan build (build-asan/), and
#                      a short libFuzzer run of every file parser (build-fuzz/, clang); test-only
#                      Python packages (gguf-py) go into .venv/
set -euo pipefail
cd "$(dirname "$0")"

mode=${1:-run}
case $mode in run|test) ;; *) echo "usage: ./setup.sh [test]" >&2; exit 2 ;; esac

packages=(cmake make gcc libc6-dev pkg-config libvulkan-dev glslang-tools libvulkan-volk-dev libstb-dev
          mesa-vulkan-drivers vulkan-validationlayers spirv-tools libpcre2-dev python3 gnuplot-nox)
test_packages=(clang libclang-rt-14-dev python3-venv)

install_missing() {
  local missing=() wanted=("${packages[@]}")
  [ "$mode" = test ] && wanted+=("${test_packages[@]}")
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "setup: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {  # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

install_missing
build build
if [ "$mode" = run ]; then
  build/vkllm devices
  exec build/vkllm check
fi
# Test-only Python packages (independent cross-checks, never used by vkllm itself) in .venv.
# gguf: the reference GGUF reader and writer; tokenizers: Hugging Face's BPE, for the tokenizers.
if [ ! -x .venv/bin/python3 ] || ! .venv/bin/python3 -c "import gguf, tokenizers" 2>/dev/null; then
  { [ -x .venv/bin/python3 ] || python3 -m venv .venv; } &&
    .venv/bin/pip install -q --disable-pip-version-check "gguf==0.19.0" "tokenizers==0.23.3" ||
    echo "setup: could not install the test-only packages from PyPI; their cross-checks will be skipped"
fi
ctest --test-dir build -j "$(nproc)" --output-on-failure
build build-asan -DVKLLM_SANITIZE=ON -DVKLLM_TEST_CACHE="$PWD/build/test-cache"
ctest --test-dir build-asan -j "$(nproc)" --output-on-failure
CC=clang build build-fuzz -DVKLLM_FUZZ=ON
FUZZ_SECONDS=${FUZZ_SECONDS:-20} ctest --test-dir build-fuzz --output-on-failure
