#!/usr/bin/env bash
# Builds what the GPU machine runs (it has no LLVM): the GPU test program,
# ahead-of-time artifacts of every tested branch config and, with --static,
# hssm-run linked statically with LLVM/MLIR (xz-compressed) for the in-process
# GPU JIT, into DIR (default .device-carry). Run the tests there with
#   cd DIR && HSSM_ARTIFACTS=artifacts bin/hssm-cuda-tests
#   xz -d bin/hssm-run-static.xz && bin/hssm-run-static --device cuda --check
set -euo pipefail
cd "$(dirname "$0")/.."
static=0
if [ "${1:-}" = "--static" ]; then static=1; shift; fi
out=${1:-.device-carry}
cmake --build build --target hssm-cuda-tests hssm-branch-sources hssm-compile hssm-run
rm -rf "$out/artifacts" "$out/src" "$out/bin"
mkdir -p "$out/artifacts" "$out/src" "$out/bin"
build/bin/hssm-branch-sources "$out/src" > /dev/null
for src in "$out"/src/*.mlir; do
  build/bin/hssm-compile "$src" -o "$out/artifacts/$(basename "$src" .mlir).so"
done
cp build/bin/hssm-cuda-tests "$out/bin/"
if [ $static = 1 ]; then
  cmake -S . -B build -DHSSM_BUILD_STATIC_RUN=ON > /dev/null
  cmake --build build --target hssm-run-static
  strip -o "$out/bin/hssm-run-static" build/bin/hssm-run-static
  xz -T0 -6 -f "$out/bin/hssm-run-static"
fi
echo "gpu-bundle: $(ls "$out/artifacts" | wc -l) artifacts in $out/artifacts"
