#!/usr/bin/env bash
# Compile-only check of the CUDA backend (native/cuda/**), so its sources cannot rot on machines
# without a GPU. Needs nvcc; fetches cuDNN headers/libs from the NVIDIA wheels (pip, local
# wheelhouse) into a temp dir and builds the addon with the CUDA backend into build/cuda-check/.
# Exit 0 with a message when nvcc or the wheels are unavailable; non-zero when the CUDA
# sources fail to configure or compile. Nothing is run on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."

NVCC="$(command -v nvcc || true)"
[[ -z "$NVCC" && -x /usr/local/cuda/bin/nvcc ]] && NVCC=/usr/local/cuda/bin/nvcc
if [[ -z "$NVCC" ]]; then
  echo "cuda-check: skipped (nvcc not found)"
  exit 0
fi
echo "cuda-check: $("$NVCC" --version | tail -1)"

if ! grep -q "native/cuda/cuda.cmake" CMakeLists.txt 2>/dev/null; then
  echo "cuda-check: FAILED: CMakeLists.txt does not include native/cuda/cuda.cmake"
  exit 1
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/zennas-cuda-check.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
# cuDNN 9 for CUDA 13 (fall back to the CUDA 12 build for older toolkits).
if ! python3 -m pip install --quiet --no-deps --target "$TMP/site" nvidia-cudnn-cu13 >"$TMP/pip.log" 2>&1 &&
   ! python3 -m pip install --quiet --no-deps --target "$TMP/site" nvidia-cudnn-cu12 >>"$TMP/pip.log" 2>&1; then
  echo "cuda-check: skipped (could not install the nvidia-cudnn wheel):"
  tail -3 "$TMP/pip.log"
  exit 0
fi
CUDNN_ROOT_DIR="$TMP/site/nvidia/cudnn"
if [[ ! -f "$CUDNN_ROOT_DIR/include/cudnn.h" ]]; then
  echo "cuda-check: skipped (the cuDNN wheel has no include/cudnn.h)"
  exit 0
fi

export PATH="$(dirname "$NVCC"):$PATH"
LOG="$TMP/build.log"
set +e
npx --no-install cmake-js compile -O build/cuda-check \
  --CDZENNAS_WITH_CUDA=ON --CDZENNAS_CUDNN_ROOT="$CUDNN_ROOT_DIR" --CDCMAKE_CUDA_COMPILER="$NVCC" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
if [[ $rc -ne 0 ]]; then
  echo "cuda-check: FAILED: the addon with the CUDA backend does not build (exit $rc)"
  exit 1
fi
if ! grep -q "zennas: CUDA backend enabled" "$LOG"; then
  echo "cuda-check: FAILED: nvcc and cuDNN are present but the CUDA backend was not enabled:"
  grep "zennas: CUDA backend" "$LOG" || true
  exit 1
fi
echo "cuda-check: OK (CUDA backend compiled into build/cuda-check/; not run: no GPU here)"
