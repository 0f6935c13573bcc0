#!/usr/bin/env bash
# Builds what the GPU machine runs (it has no LLVM): the GPU test program and
# ahead-of-time artifacts of every tested branch config, into DIR
# (default .device-carry). Run the tests there with
#   cd DIR && HSSM_ARTIFACTS=artifacts bin/hssm-cuda-tests
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.device-carry}
cmake --build build --target hssm-cuda-tests hssm-branch-sources hssm-compile hssm-run
rm -rf "$out/artifacts" "$out/src" "$out/bin"
mkdir -p "$out/artifacts" "$out/src" "$out/bin"
build/bin/hssm-branch-sources "$out/src" > /dev/null
for src in "$out"/src/*.mlir; do
  build/bin/hssm-compile "$src" -o "$out/artifacts/$(basename "$src" .mlir).so"
done
cp build/bin/hssm-cuda-tests "$out/bin/"
echo "gpu-bundle: $(ls "$out/artifacts" | wc -l) artifacts in $out/artifacts"
