#!/usr/bin/env bash
# Builds the benchmark's artifacts once per variant of hssm-lower-to-nvvm's
# options, so that kernel shapes are chosen by timing them side by side on
# the GPU, not by guess. Run after scripts/bench-bundle.sh (it reuses its
# sources and hssm-bench). Each line of VARIANTS (default below) is
#   name | hssm-compile --gpu-options text | benchmark sources (no .mlir)
# and yields DIR/variants/<name>/ (with exp2_rate, which every run needs).
# On the GPU machine (bench/run-variants.sh is copied into DIR):
#   DIR/run-variants.sh      one line per variant and case
# bench/results/r7/variants.txt is what this found.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.device-carry/bench}
variants=${VARIANTS:-"
su1-b128  | decode-scan-channels=1 block-size=128 | state_update_bf16 state_update_f32
su2-b128  | decode-scan-channels=2 block-size=128 | state_update_bf16 state_update_f32
su4-b128  | decode-scan-channels=4 block-size=128 | state_update_bf16 state_update_f32
su2-b256  | decode-scan-channels=2 block-size=256 | state_update_bf16 state_update_f32
su4-b64   | decode-scan-channels=4 block-size=64  | state_update_bf16 state_update_f32
cv1-b128  | conv-channels=1 block-size=128 | conv_update conv1d
cv4-b128  | conv-channels=4 block-size=128 | conv_update conv1d
cv8-b128  | conv-channels=8 block-size=128 | conv_update conv1d
cv8-b64   | conv-channels=8 block-size=64  | conv_update conv1d
cv8-b256  | conv-channels=8 block-size=256 | conv_update conv1d
sc32      | scan-chunk=32  | scan_p1 scan_p2
sc128     | scan-chunk=128 | scan_p1 scan_p2
sc256     | scan-chunk=256 | scan_p1 scan_p2
sc64-b256 | scan-chunk=64 block-size=256 | scan_p1 scan_p2
"}
jobs=()
while IFS='|' read -r name options sources; do
  name=$(echo "$name" | xargs)
  [[ -z $name ]] && continue
  dir="$out/variants/$name"
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$out/artifacts/exp2_rate.so" "$dir/"
  for src in $sources; do
    jobs+=("$out/src/$src.mlir|$dir/$src.so|$options")
  done
done <<< "$variants"
printf '%s\n' "${jobs[@]}" | xargs -P 2 -I{} sh -c '
  IFS="|" read -r src so options <<JOB
{}
JOB
  build/bin/hssm-compile --target=cuda --gpu-options="$options" "$src" -o "$so"'
cp bench/run-variants.sh "$out/"
echo "bench-variants: $(ls "$out/variants" | wc -l) variants in $out/variants"
