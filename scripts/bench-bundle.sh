#!/usr/bin/env bash
# Builds what the GPU machine needs for the benchmark (it has no LLVM):
# hssm-bench and the ahead-of-time artifacts of its cases, into DIR (default
# .device-carry/bench, git-ignored). Run it there with
#   cd DIR && bin/hssm-bench --artifacts artifacts --json bench.json
# and the whole branch with its projections as plain loops (the pipeline may
# send hssm.linear elsewhere; branch_jamba_loops is lowered to loops first):
#   bin/hssm-bench --artifacts artifacts --branch-artifact branch_jamba_loops \
#     --case L-dec --case L-mix --case L-pre
# HSSM_BENCH_TARGET=cpu HSSM_BENCH_SMALL=1 builds CPU artifacts of shrunken
# cases instead, to test the benchmark where there is no GPU:
#   DIR/bin/hssm-bench --cpu --small --artifacts DIR/artifacts
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.device-carry/bench}
target=${HSSM_BENCH_TARGET:-cuda}
small=()
if [[ -n "${HSSM_BENCH_SMALL:-}" ]]; then small=(--small); fi
flock /tmp/hssm-build.lock ninja -C build hssm-bench hssm-compile hssm-opt
rm -rf "$out/artifacts" "$out/src" "$out/bin"
mkdir -p "$out/artifacts" "$out/src" "$out/bin"
# hssm-bench links libcuda.so.1; where no driver is installed, the toolkit's
# stub lets --emit-mlir run (it calls no CUDA function).
if ! ldconfig -p | grep -q 'libcuda\.so\.1 '; then
  stub=$(sed -n 's/^CUDA_cuda_driver_LIBRARY:FILEPATH=//p' build/CMakeCache.txt)
  stubdir=$(mktemp -d)
  ln -s "$stub" "$stubdir/libcuda.so.1"
  export LD_LIBRARY_PATH="$stubdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
build/bin/hssm-bench --emit-mlir "$out/src" "${small[@]}" > /dev/null
# *_loops: decomposed and lowered to loops here, so the projections stay
# plain loops whatever hssm-compile's pipeline would do with hssm.linear.
alloc=true
if [[ $target == cpu ]]; then alloc=false; fi
for src in "$out"/src/*_loops.mlir; do
  build/bin/hssm-opt "$src" -o "$src.tmp" --pass-pipeline="builtin.module(hssm-decompose{device-alloc=$alloc},canonicalize,hssm-lower-to-loops)"
  mv "$src.tmp" "$src"
done
# Two compiles at a time; each is one process over one small module.
ls "$out"/src/*.mlir | xargs -P 2 -I{} sh -c \
  'build/bin/hssm-compile --target='"$target"' "$1" -o "$2/artifacts/$(basename "$1" .mlir).so"' \
  _ {} "$out"
cp build/bin/hssm-bench "$out/bin/"
# What was built: the commit and the uncommitted files it included.
{
  echo "commit $(git rev-parse HEAD)"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ), target $target${small:+, small}"
  echo "uncommitted changes in the tree:"
  git status --short | sed 's/^/  /'
  echo "symbols the artifacts take from the program:"
  for so in "$out"/artifacts/*.so; do
    echo "  $(basename "$so"): $(nm -D --undefined-only "$so" | awk '{print $2}' | grep -v '^mgpu' | tr '\n' ' ')"
  done
} > "$out/BUILD-INFO.txt"
echo "bench-bundle: $(ls "$out/artifacts" | wc -l) $target artifacts in $out/artifacts"
